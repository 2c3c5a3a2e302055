// PeerConnection: a WebRTC peer in the manner of the W3C RTCPeerConnection — JSEP offer/answer
// (RFC 8829), ICE with trickle (RFC 8445, 8838), DTLS (RFC 8827), SCTP data channels (RFC 8831).
//
//   auto pc = tincan::PeerConnection::create(config, callbacks);   // Result<shared_ptr<...>>
//   auto offer = (*pc)->createOffer();  (*pc)->setLocalDescription(*offer);  // → signaling
//
// Threading. Every method may be called from any thread; off the network thread it runs there
// and waits for the result (briefly), on it, it runs inline. Every callback (these and
// DataChannel's) runs on the configuration's NetworkThread, one at a time, in the order things
// happened, and must not block. Callbacks receive no raw pointer into the connection: what they
// get is theirs to keep, except ByteView arguments (valid during the call only).
//
// Lifetime. The connection lives while anyone holds the shared_ptr; close() (or dropping the
// last reference) stops it, and no callback runs after close() returns.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tincan/candidate.hpp"
#include "tincan/certificate.hpp"
#include "tincan/data_channel.hpp"
#include "tincan/ice_server.hpp"
#include "tincan/network_thread.hpp"
#include "tincan/result.hpp"
#include "tincan/stats.hpp"
#include "tincan/track.hpp"

namespace tincan {

enum class SdpType : uint8_t { Offer = 1, Answer, Rollback };
const char* toString(SdpType t);  // "offer", "answer", "rollback"
Result<SdpType> parseSdpType(const std::string& text);

// W3C RTCSessionDescriptionInit.
struct SessionDescription {
    SdpType type = SdpType::Offer;
    std::string sdp;
};

// W3C states.
enum class SignalingState : uint8_t { Stable = 1, HaveLocalOffer, HaveRemoteOffer, Closed };
enum class IceConnectionState : uint8_t {
    New = 1,
    Checking,
    Connected,
    Completed,
    Disconnected,
    Failed,
    Closed
};
enum class IceGatheringState : uint8_t { New = 1, Gathering, Complete };
enum class PeerConnectionState : uint8_t {
    New = 1,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed
};
enum class DtlsState : uint8_t { New = 1, Connecting, Connected, Closed, Failed };
const char* toString(SignalingState s);       // "stable", "have-local-offer", ...
const char* toString(IceConnectionState s);   // "new", "checking", ...
const char* toString(IceGatheringState s);    // "new", "gathering", "complete"
const char* toString(PeerConnectionState s);  // "new", "connecting", ...
const char* toString(DtlsState s);            // "new", "connecting", ...

enum class IceTransportPolicy : uint8_t { All = 1, Relay };

struct Configuration {
    std::vector<IceServer> iceServers;
    IceTransportPolicy iceTransportPolicy = IceTransportPolicy::All;
    // An extra trust anchor (PEM file) for turns: servers, besides the system's.
    std::string tlsCaFile;
    // Host candidates: every interface that is up, loopback only when nothing else is; or
    // only the named interfaces; or loopback as well.
    std::vector<std::string> interfaces;
    bool allowLoopback = false;
    std::shared_ptr<Certificate> certificate;  // generated when empty
    size_t maxMessageSize = 256 * 1024;        // what we accept (a=max-message-size)
    // How rarely another Tincan peer may acknowledge the data we send it: one SCTP SACK per
    // this many packets, offered as a=x-tincan-sack-every (other stacks ignore it and SACK every
    // second packet, as RFC 9260 §6.2 asks). Fewer SACKs spare both peers' CPU on fast paths:
    // file transfers went 10-30 % faster with 8 at 0-150 ms RTT (docs/BENCHMARKS.md). 2 offers
    // nothing; at most 16.
    unsigned dataChannelSackEvery = 8;
    std::shared_ptr<NetworkThread> networkThread;  // NetworkThread::shared() when empty
};

struct PeerConnectionCallbacks {
    // A local candidate to signal; nullopt once gathering is complete (end-of-candidates).
    std::function<void(const std::optional<IceCandidate>&)> onIceCandidate{};
    // The same candidate with what signaling does not carry (relay transport, server URL).
    std::function<void(const CandidateInfo&)> onLocalCandidate{};
    // A channel the remote side opened; it is already open.
    std::function<void(std::shared_ptr<DataChannel>)> onDataChannel{};
    std::function<void(SignalingState)> onSignalingState{};
    std::function<void(IceConnectionState)> onIceConnectionState{};
    std::function<void(IceGatheringState)> onIceGatheringState{};
    std::function<void(PeerConnectionState)> onConnectionState{};
    // Whenever the selected pair changes (first connection, ICE restart, a better pair).
    std::function<void(const CandidatePair&)> onSelectedPair{};
    // `reason` says why on Failed ("certificate fingerprint does not match").
    std::function<void(DtlsState, const std::string& reason)> onDtlsState{};
    // Something changed that the other side must hear about in a new offer (W3C).
    std::function<void()> onNegotiationNeeded{};
    // A track the peer sends on (W3C ontrack): a remote offer's audio or video section, or one
    // of ours that the answer says the peer sends on too. Set the track's callbacks here.
    std::function<void(std::shared_ptr<Track>)> onTrack{};
};

class PeerConnection {
public:
    // Resolves the ICE servers' host names (a blocking DNS lookup: call it off a UI thread),
    // binds the host sockets and starts gathering; candidates are announced after
    // setLocalDescription(). Errors: a bad server URI, an unknown host, no usable interface.
    static Result<std::shared_ptr<PeerConnection>> create(Configuration config,
                                                          PeerConnectionCallbacks callbacks);
    ~PeerConnection();  // close()
    PeerConnection(const PeerConnection&) = delete;
    PeerConnection& operator=(const PeerConnection&) = delete;

    Result<SessionDescription> createOffer();
    Result<SessionDescription> createAnswer();
    // With no sdp, creates the offer or answer the signaling state calls for (W3C implicit
    // description). A rollback returns to stable.
    Result<void> setLocalDescription(const SessionDescription& description = {SdpType::Offer, {}});
    // An offer in have-local-offer rolls our own offer back first (implicit rollback: the
    // polite side of perfect negotiation just applies the remote offer).
    Result<void> setRemoteDescription(const SessionDescription& description);
    // Before the remote description, candidates are kept; nullopt (or an empty candidate)
    // means end-of-candidates.
    Result<void> addIceCandidate(const std::optional<IceCandidate>& candidate);

    // Opens once the connection is up (at once if it is); the other side hears onDataChannel.
    Result<std::shared_ptr<DataChannel>> createDataChannel(const std::string& label,
                                                           const DataChannelInit& init = {});
    // A transceiver of `kind` (W3C addTrack/addTransceiver): a new m-section in the next offer,
    // or, before our answer, the peer's offered section of that kind that has no sender yet.
    Result<std::shared_ptr<Track>> addTrack(MediaKind kind, const TrackInit& init = {});
    // W3C removeTrack: we stop sending on the track's transceiver (sendrecv becomes recvonly,
    // sendonly inactive) from the next offer/answer on (onNegotiationNeeded fires); the peer's
    // media on it still arrives. Fails for a track of another connection.
    Result<void> removeTrack(const std::shared_ptr<Track>& track);
    // Every track, in m-line order (the ones not yet negotiated last).
    std::vector<std::shared_ptr<Track>> tracks() const;
    // The next offer restarts ICE (new credentials); the current pair carries on meanwhile.
    void restartIce();
    void close();

    SignalingState signalingState() const;
    PeerConnectionState connectionState() const;
    std::optional<SessionDescription> localDescription() const;
    std::optional<SessionDescription> remoteDescription() const;
    std::optional<CandidatePair> selectedPair() const;
    // The media sections negotiated so far, in m-line order.
    std::vector<TransceiverInfo> transceivers() const;
    // The peer's a=max-message-size (64 KiB until the remote description says otherwise).
    size_t remoteMaxMessageSize() const;
    StatsReport getStats() const;

    // The internal connection, for the layers below the apps (media); not part of the stable API.
    const std::shared_ptr<pc::PeerConnection>& impl() const { return impl_; }

private:
    explicit PeerConnection(std::shared_ptr<pc::PeerConnection> impl);
    std::shared_ptr<pc::PeerConnection> impl_;  // holds its NetworkThread
};

}  // namespace tincan
