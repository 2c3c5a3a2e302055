// SRTP and SRTCP (RFC 3711; AEAD-AES-GCM RFC 7714) over libsrtp2, keyed from the DTLS-SRTP
// exporter (RFC 5764 §4.2). One session protects everything we send (our role's key and salt)
// and unprotects everything the peer sends (the other role's), for any SSRC.
//
// Send path: serialized RTP/RTCP → protectRtp()/protectRtcp() (in place; the packet grows by
// the auth tag, plus the SRTCP index for RTCP) → transmit. Receive path, after RFC 7983 demux:
// unprotectRtp()/unprotectRtcp() in place → the plaintext length → parseRtp()/parseRtcp().
// Replayed, too old, tampered and malformed packets are dropped and counted in stats().
//
// Thread-compatible: one thread per session. libsrtp is initialised once per process.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "core/common/bytes.hpp"
#include "core/dtls/dtls_transport.hpp"
#include "tincan/result.hpp"

namespace tincan::srtp {

struct SrtpStats {
    uint64_t rtpProtected = 0;
    uint64_t rtcpProtected = 0;
    uint64_t rtpUnprotected = 0;
    uint64_t rtcpUnprotected = 0;
    uint64_t replayDropped = 0;  // seen before, or older than the replay window (RFC 3711 §3.3.2)
    uint64_t authFailed = 0;     // tag mismatch: tampered, or keyed differently
    uint64_t otherDropped = 0;   // too short to be RTP/RTCP, or any other libsrtp error
};

class SrtpSession {
public:
    struct Config {
        // RFC 3711 §3.3.2 replay window in packets (libsrtp accepts 64..32768). Large enough
        // for NACK-era reordering.
        unsigned long replayWindow = 1024;
    };

    // `localRole` is our DTLS role: a client protects with the client key/salt (RFC 5764 §4.2).
    // Errors: an unsupported profile (AES-CM-128-HMAC-SHA1-80/32 and AEAD-AES-128/256-GCM are
    // supported), key/salt lengths that do not match it, or a libsrtp failure.
    static Result<std::unique_ptr<SrtpSession>> create(const dtls::SrtpKeyingMaterial& keys,
                                                       dtls::Role localRole, Config config);
    // Initialises libsrtp (once per process; its self-tests take ~30 ms of CPU). create() does
    // it too, but a connection calls this early so that it is not between DTLS and media.
    static void prepare();
    static Result<std::unique_ptr<SrtpSession>> create(const dtls::SrtpKeyingMaterial& keys,
                                                       dtls::Role localRole) {
        return create(keys, localRole, Config{});
    }
    ~SrtpSession();
    SrtpSession(const SrtpSession&) = delete;
    SrtpSession& operator=(const SrtpSession&) = delete;

    // In place; false (counted) if the packet is malformed or libsrtp refuses it.
    bool protectRtp(Bytes& packet);
    bool protectRtcp(Bytes& packet);
    // In place; the plaintext is packet.first(*result). nullopt when dropped (counted); the
    // buffer's contents are then unspecified (AEAD decrypts before it checks the tag).
    std::optional<size_t> unprotectRtp(std::span<uint8_t> packet);
    std::optional<size_t> unprotectRtcp(std::span<uint8_t> packet);

    // Into a buffer: `out` receives the plaintext (the input stays as it was). False when
    // dropped (counted).
    bool unprotectRtpInto(ByteView packet, Bytes& out);
    bool unprotectRtcpInto(ByteView packet, Bytes& out);

    uint16_t profile() const { return profile_; }
    const SrtpStats& stats() const { return stats_; }

private:
    struct Contexts;
    SrtpSession(uint16_t profile, std::unique_ptr<Contexts> contexts);
    void countFailure(int status);

    uint16_t profile_;
    std::unique_ptr<Contexts> ctx_;
    SrtpStats stats_;
};

}  // namespace tincan::srtp
