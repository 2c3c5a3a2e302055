// The Data Channel Establishment Protocol (RFC 8832): DATA_CHANNEL_OPEN and DATA_CHANNEL_ACK,
// and the SCTP payload protocol identifiers WebRTC data channels use (RFC 8831 §8).
//
// A pure codec, no state: the transport decides what to do with what parses. Every parser
// bounds-checks every field and returns nullopt for anything it cannot read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/common/bytes.hpp"

namespace tincan::sctp::dcep {

// RFC 8831 §8 (IANA "SCTP Payload Protocol Identifiers").
inline constexpr uint32_t kPpidDcep = 50;
inline constexpr uint32_t kPpidString = 51;
inline constexpr uint32_t kPpidBinaryPartial = 52;  // deprecated; accepted, never sent
inline constexpr uint32_t kPpidBinary = 53;
inline constexpr uint32_t kPpidStringPartial = 54;  // deprecated; accepted, never sent
inline constexpr uint32_t kPpidStringEmpty = 56;
inline constexpr uint32_t kPpidBinaryEmpty = 57;

// RFC 8832 §8.2.1 message types.
inline constexpr uint8_t kMessageAck = 0x02;
inline constexpr uint8_t kMessageOpen = 0x03;

// RFC 8832 §5.1 priorities (W3C RTCPriorityType).
inline constexpr uint16_t kPriorityBelowNormal = 128;
inline constexpr uint16_t kPriorityNormal = 256;
inline constexpr uint16_t kPriorityHigh = 512;
inline constexpr uint16_t kPriorityExtraHigh = 1024;

// The reliability half of the DCEP channel type; the ordered bit is kept apart.
enum class Reliability : uint8_t {
    Reliable = 1,
    Rexmit = 2,  // partial reliability: at most `reliabilityParameter` retransmissions
    Timed = 3,   // partial reliability: abandoned `reliabilityParameter` ms after sending
};

// DATA_CHANNEL_OPEN (RFC 8832 §5.1).
struct Open {
    bool ordered = true;
    Reliability reliability = Reliability::Reliable;
    uint32_t reliabilityParameter = 0;  // ignored for Reliable
    uint16_t priority = kPriorityNormal;
    std::string label;
    std::string protocol;

    bool operator==(const Open&) const = default;
};

// Label and protocol longer than 65535 bytes cannot be encoded: the caller checks first.
Bytes encodeOpen(const Open& open);
// DATA_CHANNEL_ACK (RFC 8832 §5.2): the single byte 0x02.
Bytes encodeAck();

// nullopt if `message` is not a well-formed DATA_CHANNEL_OPEN: too short, another type, an
// unknown channel type, or label/protocol lengths that run past the end. Bytes after the
// protocol are ignored.
std::optional<Open> parseOpen(ByteView message);
// A DATA_CHANNEL_ACK: the type byte 0x02 (anything after it is ignored).
bool isAck(ByteView message);

}  // namespace tincan::sctp::dcep
