// The PeerConnection behind tincan::PeerConnection (include/tincan/peer_connection.hpp): the
// thread-crossing facade over one sans-IO Connection, on a net::Runtime's loop thread.
//
//   peer_connection.cpp   creation, the loop-thread hop (onLoop), the event route, getters
//   negotiation.cpp       offers and answers through jsep::Negotiator, candidates, restart
//   data_channels.cpp     tincan::DataChannel and the channels' side of the event route
//   stats_report.cpp      getStats()
//
// Threading as the public header says: any method from any thread (hopping to the loop and
// waiting), every callback on the loop thread. Work posted to the loop holds a shared_ptr or a
// weak_ptr to the connection, never a raw `this` that could outlive it.
#pragma once

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/net/interfaces.hpp"
#include "core/net/runtime.hpp"
#include "core/pc/connection.hpp"
#include "core/pc/jsep.hpp"
#include "tincan/peer_connection.hpp"

namespace tincan::pc {

struct Config {
    ice::AgentConfig ice;  // servers resolved, policy set
    net::HostPolicy hostPolicy;
    std::shared_ptr<dtls::Certificate> certificate;  // generated when empty
    size_t maxMessageSize = 256 * 1024;
    uint8_t sackEvery = 2;  // offered to the peer as a=x-tincan-sack-every (tincan::Configuration)
    std::shared_ptr<void> runtimeOwner;  // kept until the connection is gone (the NetworkThread)
};

class PeerConnection : public std::enable_shared_from_this<PeerConnection> {
public:
    static Result<std::shared_ptr<PeerConnection>> create(net::Runtime& runtime, Config config,
                                                          PeerConnectionCallbacks callbacks);
    ~PeerConnection();

    Result<SessionDescription> createOffer();
    Result<SessionDescription> createAnswer();
    Result<void> setLocalDescription(const SessionDescription& description);
    Result<void> setRemoteDescription(const SessionDescription& description);
    Result<void> addIceCandidate(const std::optional<IceCandidate>& candidate);
    Result<std::shared_ptr<DataChannel>> createDataChannel(const std::string& label,
                                                           const DataChannelInit& init);
    Result<std::shared_ptr<Track>> addTrack(MediaKind kind, const TrackInit& init);
    std::vector<std::shared_ptr<Track>> tracks() const;
    void restartIce();
    void close();

    SignalingState signalingState() const { return signalingState_.load(); }
    PeerConnectionState connectionState() const { return connectionState_.load(); }
    std::optional<SessionDescription> localDescription() const;
    std::optional<SessionDescription> remoteDescription() const;
    std::optional<CandidatePair> selectedPair() const;
    std::vector<TransceiverInfo> transceivers() const;
    size_t remoteMaxMessageSize() const { return remoteMaxMessageSize_.load(); }
    StatsReport getStats() const;

    net::Runtime& runtime() { return runtime_; }
    // Loop thread only: the connection (its MediaTransport), for tests and the layers below.
    Connection& connection() { return *connection_; }

private:
    friend class tincan::DataChannel;
    friend class tincan::Track;
    PeerConnection(net::Runtime& runtime, Config config, PeerConnectionCallbacks callbacks);
    Result<void> start();

    // Runs f on the loop thread and returns its result (inline when already there).
    template <typename F>
    auto onLoop(F&& f) const -> decltype(f());

    // --- Loop thread only ---
    // negotiation.cpp
    jsep::LocalParams localParams() const;
    Result<SessionDescription> buildDescription(bool offer);
    Result<void> applyRemoteParams(const jsep::RemoteParams& params, bool isOffer);
    void applyTransport();
    void setSignalingState(SignalingState s);
    void announceCandidates();
    void emitCandidate(const ice::Candidate& c);
    // peer_connection.cpp: the one event route
    void onActivity();
    void onIceEvent(const ice::Event& e);
    // data_channels.cpp
    void openPendingChannels();
    void onSctpEvent(const sctp::Event& e);
    bool sendOnLoop(DataChannel& ch, ByteView data, bool binary);
    void refreshBuffered(DataChannel& ch);
    DataChannelStats channelStats(uint16_t id, const DataChannel& ch) const;
    void closeAllChannels();
    static void releaseCallbacks(DataChannel& ch);
    // tracks.cpp
    std::shared_ptr<Track> trackFor(const jsep::MediaWish& wish);
    void applyMedia();
    void announceRemoteTracks();
    void onMediaEvent(MediaEvent& e);
    void endAllTracks();
    void markTracksReady();
    void addMediaStats(StatsReport& report) const;

    std::shared_ptr<void> runtimeOwner_;  // first member: destroyed last
    net::Runtime& runtime_;
    Config config_;
    PeerConnectionCallbacks callbacks_;
    std::unique_ptr<Random> random_;
    std::unique_ptr<Connection> connection_;
    net::MachineId machine_ = net::kInvalidMachine;

    std::atomic<SignalingState> signalingState_{SignalingState::Stable};
    std::atomic<PeerConnectionState> connectionState_{PeerConnectionState::New};
    std::atomic<size_t> remoteMaxMessageSize_{65536};

    // Loop-thread state.
    jsep::Negotiator negotiator_;
    std::optional<SessionDescription> localDescription_, remoteDescription_;
    std::optional<SessionDescription> pendingLocal_, pendingRemote_;  // offers in flight
    std::optional<jsep::RemoteParams> remote_;                        // of the description in force
    uint64_t sessionId_ = 0;
    uint64_t sessionVersion_ = 1;
    bool restartPending_ = false;
    bool localSet_ = false;
    bool remoteSet_ = false;
    std::string gatheredUfrag_;                // the ICE session `gathered_` belongs to
    std::vector<ice::Candidate> gathered_;     // all local candidates of the current session
    std::vector<ice::Candidate> unannounced_;  // gathered before setLocalDescription
    bool gatheringComplete_ = false;
    bool endAnnounced_ = false;
    std::vector<std::optional<IceCandidate>> earlyRemoteCandidates_;
    std::vector<std::shared_ptr<DataChannel>> pendingChannels_;
    std::map<uint16_t, std::shared_ptr<DataChannel>> channels_;
    // W3C webrtc-stats keep closed channels and count channels cumulatively.
    std::vector<DataChannelStats> closedChannelStats_;
    uint32_t channelsOpened_ = 0;
    uint32_t channelsClosed_ = 0;
    std::map<int, std::shared_ptr<Track>> tracks_;  // by jsep wish id
    std::map<std::string, std::shared_ptr<Track>> tracksByMid_;
    std::set<int> announcedTracks_;  // onTrack fired
    int nextTrackId_ = 1;
    std::string cname_;
    bool closed_ = false;
    mutable std::mutex mutex_;  // the descriptions and the selected pair, read from any thread
    std::optional<CandidatePair> selected_;
};

template <typename F>
auto PeerConnection::onLoop(F&& f) const -> decltype(f()) {
    using R = decltype(f());
    if (runtime_.onLoopThread()) return f();
    std::promise<R> promise;
    auto future = promise.get_future();
    // The caller waits below, so its references (and `f`) outlive the posted work.
    const_cast<net::Runtime&>(runtime_).post([&f, &promise] {
        if constexpr (std::is_void_v<R>) {
            f();
            promise.set_value();
        } else {
            promise.set_value(f());
        }
    });
    return future.get();
}

}  // namespace tincan::pc
