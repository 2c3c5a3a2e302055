// One WebRTC transport stack as a single sans-IO machine:
//
//   UDP ── ice::Agent ──(RFC 7983 demux)──┬─ dtls::DtlsTransport ── sctp::SctpTransport ── channels
//                                          └─ RTP/RTCP ── MediaTransport (SRTP, keyed by DTLS)
//
// It is driven like every other machine (packets, timeouts in; packets, deadline, events out)
// and knows nothing of SDP: the PeerConnection above it negotiates and hands it the DTLS role,
// the remote fingerprints and, when a data section was agreed, the remote SCTP parameters.
// DTLS starts as soon as ICE has a working pair and the role is known; SCTP (optional: a
// media-only session has none) as soon as DTLS is up.
//
// One ordered route upward: pollEvent() yields ICE, DTLS, connection and SCTP events and the
// data-channel messages, in the order they happened. Messages are read from SCTP lazily, as
// the owner drains, so a sctp::event::Message's view stays valid until the next call into
// the connection — no copy, no reorder buffer.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <variant>

#include "core/dtls/dtls_transport.hpp"
#include "core/ice/agent.hpp"
#include "core/pc/media_transport.hpp"
#include "core/sctp/sctp_transport.hpp"

namespace tincan::pc {

// W3C RTCPeerConnectionState.
enum class ConnectionState : uint8_t {
    New = 1,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed
};
const char* toString(ConnectionState s);

struct ConnectionConfig {
    ice::AgentConfig ice;
    std::shared_ptr<dtls::Certificate> certificate;
    size_t localMaxMessageSize = 256 * 1024;
    uint16_t localSctpPort = 5000;
    // Unix time minus the steady clock, in µs, read once by the owner (RTCP SR NTP times).
    int64_t wallClockOffsetUs = 0;
};

namespace event {
struct DtlsStateChanged {
    dtls::State state;
    std::string reason;
};
struct ConnectionStateChanged {
    ConnectionState state;
};
// The SCTP association is up: data channels can open.
struct SctpReady {};
// DTLS negotiated use_srtp (RFC 5764): the keys for the media transport. Emitted before
// DtlsStateChanged{Connected}; the connection also hands them to its MediaTransport.
struct SrtpReady {
    dtls::SrtpKeyingMaterial keys;
    dtls::Role role;
};
}  // namespace event

using Event = std::variant<ice::Event, event::DtlsStateChanged, event::ConnectionStateChanged,
                           event::SctpReady, event::SrtpReady, sctp::Event, MediaEvent>;

struct ConnectionStats {
    uint64_t rtpDropped = 0;      // RTP/RTCP with no media section negotiated
    uint64_t unknownDropped = 0;  // first byte in no RFC 7983 range
    uint64_t earlyDtlsBuffered = 0;
};

class Connection final : public SansIoMachine {
public:
    Connection(ConnectionConfig config, Random& random);
    ~Connection() override;

    ice::Agent& ice() { return agent_; }
    const ice::Agent& ice() const { return agent_; }
    dtls::DtlsTransport* dtls() { return dtls_.get(); }
    sctp::SctpTransport* sctp() { return sctpUp_ ? sctp_.get() : nullptr; }
    const std::shared_ptr<dtls::Certificate>& certificate() const { return config_.certificate; }

    // From negotiation. Both may be called once; DTLS datagrams that arrive before the role is
    // known (the answerer can connect before the offerer has read the answer) are kept.
    void setDtlsParameters(Timestamp now, dtls::Role role,
                           std::vector<sdp::Fingerprint> remoteFingerprints);
    struct RemoteSctp {
        uint16_t port = 5000;
        size_t maxMessageSize = 65536;
        uint8_t sackEvery = 2;  // the peer's a=x-tincan-sack-every (2 when it did not say)
    };
    void setSctpParameters(Timestamp now, RemoteSctp remote);
    bool dtlsRoleKnown() const { return dtls_ != nullptr; }

    // The audio and video sections negotiation agreed (RTP/RTCP, RFC 7983 bytes 128..191, go
    // to the media transport from then on; before, they are dropped and counted).
    void configureMedia(Timestamp now, MediaConfig config);
    MediaTransport* media() { return media_.get(); }
    const MediaTransport* media() const { return media_.get(); }

    ConnectionState state() const { return state_; }
    const ConnectionStats& stats() const { return stats_; }
    void close(Timestamp now);
    // Moves what direct calls on ice() produced (gathering, remote candidates, credentials,
    // mDNS answers) up the stack, as every input does: without it the agent's events
    // (LocalCandidate, StateChanged, ...) would wait in the agent for the next packet or timer.
    // Inside an input (a message handler calling back in) it does nothing: that input's own
    // pump moves everything on its way out.
    void update(Timestamp now);

    // SansIoMachine
    void handlePacket(Timestamp now, const PacketView& packet) override;
    void handleStreamState(Timestamp now, TransportProtocol protocol, const Endpoint& local,
                           const Endpoint& remote, StreamState state) override;
    void handleTimeout(Timestamp now) override;
    std::optional<Packet> pollTransmit() override;
    std::optional<Timestamp> pollTimeout() override;
    std::optional<Event> pollEvent();

private:
    void onIceData(ByteView data);
    void pump(Timestamp now);
    void maybeStartDtls(Timestamp now);
    void maybeStartSctp(Timestamp now);
    void updateState();

    ConnectionConfig config_;
    ice::Agent agent_;
    std::unique_ptr<dtls::DtlsTransport> dtls_;
    std::unique_ptr<sctp::SctpTransport> sctp_;
    std::optional<RemoteSctp> remoteSctp_;
    bool dtlsStarted_ = false;
    bool sctpStarted_ = false;
    bool sctpUp_ = false;
    bool closed_ = false;
    std::deque<Bytes> earlyDtls_;
    std::deque<Event> events_;
    std::unique_ptr<MediaTransport> media_;
    Random& random_;
    std::optional<event::SrtpReady> srtp_;
    ice::IceState iceState_ = ice::IceState::New;
    dtls::State dtlsState_ = dtls::State::New;
    ConnectionState state_ = ConnectionState::New;
    ConnectionStats stats_;
    Timestamp now_{};
    int depth_ = 0;  // inputs and pumps on the stack (update() must not nest in them)
};

}  // namespace tincan::pc
