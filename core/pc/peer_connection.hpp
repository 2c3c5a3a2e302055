// PeerConnection: a WebRTC peer for data channels, in the spirit of the W3C RTCPeerConnection.
//
// Threading: the connection lives on a net::Runtime's loop thread. Every method may be called
// from any thread: off the loop it runs there and waits for the result (briefly; never call a
// blocking method while holding up the loop thread from elsewhere), on the loop it runs inline.
// Every callback — PeerConnection's and DataChannel's — runs on the loop thread. Set a
// DataChannel's callbacks right after createDataChannel() or inside onDataChannel.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/net/interfaces.hpp"
#include "core/net/runtime.hpp"
#include "core/pc/connection.hpp"
#include "core/sdp/sdp.hpp"

namespace tincan::pc {

enum class SignalingState : uint8_t { Stable = 1, HaveLocalOffer, HaveRemoteOffer, Closed };
const char* toString(SignalingState s);

struct SessionDescriptionInit {
    std::string type;  // "offer", "answer", "rollback"
    std::string sdp;
};

struct IceCandidateInit {
    std::string candidate;  // "candidate:..." (empty: end of candidates)
    std::string sdpMid = "0";
    int sdpMLineIndex = 0;
};

struct Configuration {
    std::vector<ice::StunServerConfig> stunServers;
    std::vector<ice::TurnServerConfig> turnServers;
    ice::TransportPolicy policy = ice::TransportPolicy::All;
    net::HostPolicy hostPolicy;
    std::shared_ptr<dtls::Certificate> certificate;  // generated when empty
    size_t maxMessageSize = 256 * 1024;              // advertised a=max-message-size
};

struct DataChannelInit {
    bool ordered = true;
    std::optional<uint16_t> maxRetransmits;
    std::optional<uint16_t> maxPacketLifeTime;  // ms
    std::string protocol;
    std::optional<uint16_t> negotiatedId;  // negotiated out of band: no DCEP, this stream id
};

enum class DataChannelState : uint8_t { Connecting = 1, Open, Closing, Closed };
const char* toString(DataChannelState s);

class PeerConnection;

class DataChannel {
public:
    struct Callbacks {
        std::function<void()> onOpen;
        std::function<void(ByteView data, bool binary)> onMessage;
        std::function<void()> onClose;
        std::function<void()> onBufferedAmountLow;
    };

    const std::string& label() const { return label_; }
    const DataChannelInit& init() const { return init_; }
    std::optional<uint16_t> id() const;
    DataChannelState state() const { return state_.load(); }
    // Bytes accepted by send() and not yet handed to the network.
    size_t bufferedAmount() const;
    void setBufferedAmountLowThreshold(size_t bytes);
    size_t bufferedAmountLowThreshold() const { return lowThreshold_.load(); }
    // The largest message send() accepts: the peer's a=max-message-size.
    size_t maxMessageSize() const;

    void setCallbacks(Callbacks callbacks);
    // False when the channel is not open or the message exceeds the peer's max-message-size.
    bool send(std::string_view text);
    bool sendBinary(ByteView data);
    void close();

private:
    friend class PeerConnection;
    DataChannel(std::weak_ptr<PeerConnection> pc, std::string label, DataChannelInit init);
    bool sendImpl(ByteView data, bool binary);
    void fire(const std::function<void(const Callbacks&)>& f);

    std::weak_ptr<PeerConnection> pc_;
    std::string label_;
    DataChannelInit init_;
    std::atomic<int32_t> id_{-1};
    std::atomic<DataChannelState> state_{DataChannelState::Connecting};
    std::atomic<size_t> lowThreshold_{0};
    std::atomic<size_t> posted_{0};    // bytes posted from other threads, not yet in SCTP
    std::atomic<size_t> buffered_{0};  // SCTP's count, refreshed on the loop
    mutable std::mutex callbackMutex_;
    Callbacks callbacks_;
};

struct PeerConnectionCallbacks {
    std::function<void(std::optional<IceCandidateInit>)> onIceCandidate;  // nullopt: gathering done
    // The same candidate with what SDP does not carry (base, relay transport, server URL).
    std::function<void(const ice::Candidate&)> onLocalCandidate;
    std::function<void(std::shared_ptr<DataChannel>)> onDataChannel;
    std::function<void(SignalingState)> onSignalingState;
    std::function<void(ice::IceState)> onIceConnectionState;
    std::function<void(ice::GatheringState)> onIceGatheringState;
    std::function<void(ConnectionState)> onConnectionState;
    std::function<void(const ice::CandidatePairInfo&)> onSelectedPair;
    std::function<void(dtls::State, const std::string& reason)> onDtlsState;
};

class PeerConnection : public std::enable_shared_from_this<PeerConnection> {
public:
    // Binds the host sockets and starts gathering at once (candidates are announced after
    // setLocalDescription). Errors (no usable interface) are reported by `error`.
    static std::shared_ptr<PeerConnection> create(net::Runtime& runtime, Configuration config,
                                                  PeerConnectionCallbacks callbacks,
                                                  std::string* error = nullptr);
    ~PeerConnection();

    using DescriptionOrError = std::variant<SessionDescriptionInit, std::string>;
    DescriptionOrError createOffer();
    DescriptionOrError createAnswer();
    // Both return an error message, or nullopt on success.
    std::optional<std::string> setLocalDescription(const SessionDescriptionInit& description);
    // An offer in have-local-offer rolls our offer back first (implicit rollback, as browsers do:
    // the polite peer of perfect negotiation just applies the remote offer).
    std::optional<std::string> setRemoteDescription(const SessionDescriptionInit& description);
    // Before the remote description, candidates are kept (../shared/SIGNALING.md).
    std::optional<std::string> addIceCandidate(const std::optional<IceCandidateInit>& candidate);

    std::shared_ptr<DataChannel> createDataChannel(const std::string& label, const DataChannelInit& init = {});
    // The next offer restarts ICE (new credentials).
    void restartIce();
    void close();

    SignalingState signalingState() const { return signalingState_.load(); }
    ConnectionState connectionState() const { return connectionState_.load(); }
    std::optional<SessionDescriptionInit> localDescription() const;
    std::optional<SessionDescriptionInit> remoteDescription() const;
    std::optional<ice::CandidatePairInfo> selectedPair() const;
    size_t remoteMaxMessageSize() const { return remoteMaxMessageSize_.load(); }
    // getStats() with W3C webrtc-stats types and names: transport, candidate-pair,
    // local-candidate, remote-candidate, data-channel, certificate, peer-connection.
    nlohmann::json getStats() const;

    net::Runtime& runtime() { return runtime_; }

private:
    friend class DataChannel;
    PeerConnection(net::Runtime& runtime, Configuration config, PeerConnectionCallbacks callbacks);
    bool start(std::string* error);

    template <typename F>
    auto onLoop(F&& f) const -> decltype(f());

    // Loop thread only.
    DescriptionOrError buildDescription(bool offer);
    std::optional<std::string> applyRemote(const sdp::SessionDescription& d, bool isOffer);
    void onActivity();
    void openPendingChannels();
    void emitCandidate(const ice::Candidate& c);
    void setSignalingState(SignalingState s);
    bool sendOnLoop(DataChannel& ch, ByteView data, bool binary);
    void refreshBuffered(DataChannel& ch);
    nlohmann::json channelStatsJson(uint16_t id, const DataChannel& ch);
    void closeAllChannels();

    net::Runtime& runtime_;
    Configuration config_;
    PeerConnectionCallbacks callbacks_;
    std::unique_ptr<Random> random_;
    std::unique_ptr<Connection> connection_;
    net::MachineId machine_ = net::kInvalidMachine;

    std::atomic<SignalingState> signalingState_{SignalingState::Stable};
    std::atomic<ConnectionState> connectionState_{ConnectionState::New};
    std::atomic<size_t> remoteMaxMessageSize_{65536};

    // Loop-thread state.
    std::optional<SessionDescriptionInit> localDescription_, remoteDescription_;
    std::optional<SessionDescriptionInit> pendingLocal_, pendingRemote_;  // offers in flight
    std::string mid_ = "0";
    uint64_t sessionId_ = 0;
    uint64_t sessionVersion_ = 1;
    bool restartPending_ = false;
    bool localSet_ = false;
    bool remoteSet_ = false;
    sdp::Setup remoteSetup_ = sdp::Setup::ActPass;
    std::vector<sdp::Fingerprint> remoteFingerprints_;
    uint16_t remoteSctpPort_ = 5000;
    std::string gatheredUfrag_;                // the ICE session `gathered_` belongs to
    std::vector<ice::Candidate> gathered_;     // all local candidates of the current session
    std::vector<ice::Candidate> unannounced_;  // gathered before setLocalDescription
    bool gatheringComplete_ = false;
    bool endAnnounced_ = false;
    std::vector<std::optional<IceCandidateInit>> earlyRemoteCandidates_;
    std::vector<std::shared_ptr<DataChannel>> pendingChannels_;
    std::map<uint16_t, std::shared_ptr<DataChannel>> channels_;
    // W3C webrtc-stats keep closed channels and count channels cumulatively.
    std::vector<nlohmann::json> closedChannelStats_;
    uint64_t channelsOpened_ = 0;
    uint64_t channelsClosed_ = 0;
    // Messages that arrived with the DATA_CHANNEL_OPEN, before the channel was announced.
    std::map<uint16_t, std::vector<std::pair<Bytes, bool>>> earlyMessages_;
    std::optional<ice::CandidatePairInfo> selected_;
    mutable std::mutex descriptionMutex_;
    std::shared_ptr<bool> alive_;
};

}  // namespace tincan::pc
