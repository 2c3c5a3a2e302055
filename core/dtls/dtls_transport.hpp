// DTLS 1.2 as WebRTC uses it (RFC 6347; RFC 8827 §6.5, RFC 8842; use_srtp RFC 5764/7714),
// sans-IO over OpenSSL: datagrams in through handleIncoming(), datagrams out through
// pollOutgoing(), the handshake retransmission deadline through pollTimeout().
//
// The peer's certificate is self-signed; it is trusted only if its digest matches one of the
// peer's a=fingerprint values (RFC 8122 §5). Until it has, no application data is delivered and
// send() refuses. On success the transport is Connected and, when use_srtp was negotiated,
// SrtpReady carries the SRTP master keys exported from the handshake (RFC 5764 §4.2).
//
// OpenSSL runs the handshake retransmission timer on its own (wall) clock; pollTimeout()
// translates what is left of it to the caller's time, and handleTimeout() lets OpenSSL decide
// whether it expired (STYLE.md: the DTLS layer runs on real time even in tests).
//
// Thread-compatible: one thread per instance; instances on one thread do not see each other's
// OpenSSL errors (each call starts and ends with an empty OpenSSL error queue).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/common/bytes.hpp"
#include "core/common/time.hpp"
#include "core/dtls/certificate.hpp"
#include "core/sdp/sdp.hpp"

namespace tincan::dtls {

// RFC 8842 §5.1: a=setup:active is the DTLS client, a=setup:passive the server.
enum class Role : uint8_t { Client = 1, Server = 2 };
enum class State : uint8_t { New = 1, Connecting, Connected, Closed, Failed };
const char* toString(Role r);   // "client", "server"
const char* toString(State s);  // "new", "connecting", "connected", "closed", "failed"

// DTLS-SRTP protection profiles (RFC 5764 §4.1.2, RFC 7714 §14.2).
inline constexpr uint16_t kSrtpAes128CmSha1_80 = 0x0001;
inline constexpr uint16_t kSrtpAes128CmSha1_32 = 0x0002;
inline constexpr uint16_t kSrtpAeadAes128Gcm = 0x0007;
inline constexpr uint16_t kSrtpAeadAes256Gcm = 0x0008;
const char* srtpProfileName(uint16_t profile);  // "SRTP_AEAD_AES_128_GCM", ...; "" if unknown

// The SRTP master keys and salts for each direction (client = the DTLS client's sending side).
// Key/salt lengths: 16/14 for the AES-CM profiles, 16/12 for AEAD_AES_128_GCM, 32/12 for 256.
struct SrtpKeyingMaterial {
    uint16_t profile = 0;
    Bytes clientKey, clientSalt, serverKey, serverSalt;
    bool operator==(const SrtpKeyingMaterial&) const = default;
};

struct DtlsConfig {
    Role role = Role::Client;
    // The peer's a=fingerprint values (session or media level). RFC 8122 §5: the certificate
    // must match one of those with the strongest supported hash among them (sha-512 > sha-384 >
    // sha-256 > sha-224 > sha-1; md5/md2 and unknown names are ignored). May be left empty and
    // given later with setRemoteFingerprints(); the handshake then completes but the transport
    // stays Connecting (and drops data) until they arrive.
    std::vector<sdp::Fingerprint> remoteFingerprints;
    // use_srtp (RFC 5764 §4.1.1): profiles in our order of preference. As server the first of
    // ours the client offers wins. Off for data-channel-only peers that want no media.
    bool offerSrtp = true;
    std::vector<uint16_t> srtpProfiles{kSrtpAeadAes128Gcm, kSrtpAes128CmSha1_80};
    // Largest datagram the handshake writes (flights are fragmented and packed to fit); also
    // bounds application records of at most maxPayloadSize() bytes.
    size_t mtu = 1200;
    // Handshake retransmission timer (RFC 6347 §4.2.4.1): first wait, doubled up to the cap.
    // OpenSSL fails the handshake after 12 expiries without progress.
    Duration initialRetransmit = 400ms;
    Duration maxRetransmit = 10s;
};

namespace event {
struct StateChanged {
    State state = State::New;
    std::string reason;  // why Closed/Failed ("closed by peer", an alert, an OpenSSL error)
};
// Emitted once, just before StateChanged{Connected}, when use_srtp was negotiated.
struct SrtpReady {
    SrtpKeyingMaterial keys;
};
}  // namespace event
using Event = std::variant<event::StateChanged, event::SrtpReady>;

class DtlsTransport {
public:
    // A null `local`, an MTU outside 256..65535, an unknown SRTP profile or an OpenSSL setup
    // failure leave the transport Failed at once (with a StateChanged event saying why).
    // A moved-from transport may only be destroyed or assigned to.
    DtlsTransport(std::shared_ptr<Certificate> local, DtlsConfig config);
    ~DtlsTransport();
    DtlsTransport(DtlsTransport&&) noexcept;
    DtlsTransport& operator=(DtlsTransport&&) noexcept;

    // New -> Connecting. A client sends its ClientHello; a server waits for one. A server also
    // starts by itself at the first well-formed datagram (a ClientHello may beat start()).
    void start(Timestamp now);
    // One UDP payload demultiplexed as DTLS (RFC 7983: first byte 20..63). Malformed record
    // framing is dropped and counted (Stats::malformedDropped); records that fail decryption
    // are dropped silently by OpenSSL (RFC 6347 §4.1.2.7).
    void handleIncoming(Timestamp now, ByteView datagram);
    void handleTimeout(Timestamp now);

    // Datagrams for the ICE layer, in order. Each is at most `mtu` bytes, except those carrying
    // a send() larger than maxPayloadSize().
    std::optional<Bytes> pollOutgoing();
    // When handleTimeout() wants to run (handshake retransmission), if at all: the `now` of the
    // latest call plus what is left of OpenSSL's timer. Nothing once the handshake is done.
    std::optional<Timestamp> pollTimeout();
    std::optional<Event> pollEvent();

    // Application data (SCTP packets), one call per record, from inside handleIncoming(). The
    // view is valid only during the call. The handler may call send() and close(), but must
    // not re-enter handleIncoming()/handleTimeout() or replace the handler.
    void setDataHandler(std::function<void(ByteView)> handler);
    // One record. False unless Connected, or if data is empty or over 16384 bytes. Records up
    // to maxPayloadSize() bytes fit in one datagram of at most mtu bytes; larger ones (still one
    // datagram each) are the caller's choice.
    bool send(ByteView data);
    // The largest send() that fits in `mtu` with the negotiated cipher (0 before Connected).
    size_t maxPayloadSize() const;
    // Sends close_notify (if the handshake has completed) and goes to Closed.
    void close(Timestamp now);

    // The peer's a=fingerprint values when they were not known at construction (the ClientHello
    // came before the answer). Completes or fails a handshake waiting for them. Ignored once
    // Connected, Closed or Failed: a live session is never re-verified.
    void setRemoteFingerprints(Timestamp now, std::vector<sdp::Fingerprint> fingerprints);

    State state() const;
    Role role() const;
    const std::shared_ptr<Certificate>& localCertificate() const;
    // The peer certificate's fingerprint, in the algorithm that was verified (sha-256 until
    // then); nullopt before the peer's Certificate message.
    std::optional<sdp::Fingerprint> remoteFingerprint() const;
    // IANA names, e.g. "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" and "DTLSv1.2"; empty before
    // the handshake completes.
    std::string cipherSuite() const;
    std::string tlsVersion() const;
    // The negotiated DTLS-SRTP profile, 0 if none (yet).
    uint16_t srtpProfile() const;

    struct Stats {
        uint64_t bytesSent = 0;      // datagrams handed out by pollOutgoing(), incl. DTLS overhead
        uint64_t bytesReceived = 0;  // well-formed datagrams taken in
        uint64_t packetsSent = 0;
        uint64_t packetsReceived = 0;
        uint64_t applicationBytesSent = 0;      // plaintext through send()
        uint64_t applicationBytesReceived = 0;  // plaintext to the data handler
        uint64_t handshakeRetransmits = 0;      // timer-driven flight retransmissions
        uint64_t malformedDropped = 0;
    };
    Stats stats() const;

    struct Impl;  // internal (public only so that the OpenSSL callbacks can reach it)

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace tincan::dtls
