// The one place where Tincan's callbacks (network thread) become Qt signals: every
// PeerConnection and DataChannel callback hops to the Qt thread with a queued invokeMethod on
// this object, so the rest of the UI lives on one thread. Blocking calls (PeerConnection::create
// resolves DNS, getStats waits for the network thread) run on a worker (QtConcurrent).
#pragma once

#include <QFutureWatcher>
#include <QObject>
#include <QString>

#include <functional>
#include <memory>
#include <vector>

#include "tincan/peer_connection.hpp"
#include "ui/bridge/media_bridge.hpp"

namespace tincan::session {
class Negotiator;
}

namespace tincan::ui {

struct CallConfig {
    QString signalingUrl;  // ws://HOST:PORT/ROOM
    std::vector<IceServer> iceServers;
    bool relayOnly = false;
    bool allowLoopback = false;
    std::vector<std::string> interfaces;
    MediaChoice media;  // the devices (or the synthetic sources) for the audio and video tracks
};

class CallBridge : public QObject {
    Q_OBJECT
public:
    explicit CallBridge(QObject* parent = nullptr);
    ~CallBridge() override;

    // Creates the PeerConnection on a worker, then joins the room; `failed` on any error.
    void start(const CallConfig& config);
    void hangup();
    // A control or chat message (one JSON object) to the peer; false when the channel is not open.
    bool sendMessage(const QByteArray& json);
    // Asks for a stats report; `stats` is emitted when it is ready (never blocks the caller).
    void requestStats();
    // Only valid after `created`; for the transfer bridge.
    std::shared_ptr<PeerConnection> connection() const { return pc_; }
    bool polite() const;
    // Audio and video: started with the call, its tracks added before the first offer.
    MediaBridge* media() const { return media_; }

signals:
    void created();
    void joined(int peers);
    void peerJoined();
    void peerLeft();
    void remoteHangup();
    void signalingReconnecting(const QString& why);
    void failed(const QString& reason);
    // The call goes on without audio and video (chat and files still work).
    void mediaFailed(const QString& reason);
    void localCandidate(const tincan::CandidateInfo& candidate);
    void remoteCandidate(const tincan::CandidateInfo& candidate);
    void signalingStateChanged(tincan::SignalingState state);
    void gatheringStateChanged(tincan::IceGatheringState state);
    void iceStateChanged(tincan::IceConnectionState state);
    void connectionStateChanged(tincan::PeerConnectionState state);
    void dtlsStateChanged(tincan::DtlsState state, const QString& reason);
    void selectedPairChanged(const tincan::CandidatePair& pair);
    void messageChannelOpen();
    void messageReceived(const QByteArray& json);
    // A "file" channel the peer opened; emitted on the NETWORK thread (the receiver must take
    // its callbacks before the first message): connect it with Qt::DirectConnection only.
    void fileChannel(std::shared_ptr<tincan::DataChannel> channel);
    void stats(const tincan::StatsReport& report);

private:
    void onQt(std::function<void()> fn);
    PeerConnectionCallbacks makeCallbacks();
    void onCreated(Result<std::shared_ptr<PeerConnection>> result);
    void watchMessages(const std::shared_ptr<DataChannel>& channel);

    CallConfig config_;
    MediaBridge* media_ = nullptr;  // a child: destroyed after the PeerConnection is closed
    std::shared_ptr<PeerConnection> pc_;
    std::shared_ptr<DataChannel> outgoing_;  // ours, for sending
    std::shared_ptr<DataChannel> incoming_;  // the peer's, for receiving
    std::unique_ptr<session::Negotiator> negotiator_;
    QFutureWatcher<Result<std::shared_ptr<PeerConnection>>> creating_;
    QFutureWatcher<StatsReport> statsWatcher_;
    bool ended_ = false;
};

}  // namespace tincan::ui
