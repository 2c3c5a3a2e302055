// The framing check a datagram passes before OpenSSL sees it (RFC 6347 §4.1, §4.2.2).
//
// Kept apart from the transport so that it can be fuzzed and tested alone: it is the first code
// that reads a DTLS-looking datagram from anyone who knows the port.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/common/bytes.hpp"

namespace tincan::dtls {

inline constexpr size_t kRecordHeaderSize = 13;         // RFC 6347 §4.1
inline constexpr size_t kHandshakeHeaderSize = 12;      // RFC 6347 §4.2.2
inline constexpr size_t kMaxPlaintext = 16384;          // 2^14, RFC 6347 §4.1 / RFC 5246 §6.2.1
inline constexpr size_t kMaxCiphertext = 16384 + 2048;  // RFC 5246 §6.2.3

// RFC 5246 §6.2.1 content types.
inline constexpr uint8_t kContentChangeCipherSpec = 20;
inline constexpr uint8_t kContentAlert = 21;
inline constexpr uint8_t kContentHandshake = 22;
inline constexpr uint8_t kContentApplicationData = 23;

// Whether `datagram` is one or more complete DTLS 1.0/1.2 records of a known content type, and
// for plaintext (epoch 0) records a plausible body: a ChangeCipherSpec of the single byte 1, a
// two-byte alert, handshake fragments that fit their record and their message. Encrypted
// records are only framed: their contents are OpenSSL's to authenticate.
bool isWellFormedDatagram(ByteView datagram);

}  // namespace tincan::dtls
