#include "ui/bridge/call_bridge.hpp"

#include <QUrl>
#include <QtConcurrent/QtConcurrentRun>

#include "session/negotiator.hpp"

namespace tincan::ui {

// Text messages ride on two channels: each side sends on the one it opened ("chat") and
// receives on the peer's, so neither side has to decide who opens it.
static constexpr const char* kMessageLabel = "chat";

CallBridge::CallBridge(QObject* parent) : QObject(parent), media_(new MediaBridge(this)) {
    connect(&creating_, &QFutureWatcherBase::finished, this,
            [this] { onCreated(creating_.result()); });
    connect(&statsWatcher_, &QFutureWatcherBase::finished, this,
            [this] { emit stats(statsWatcher_.result()); });
}

CallBridge::~CallBridge() {
    // A creation in flight must finish before its callbacks' `this` goes away.
    creating_.waitForFinished();
    statsWatcher_.waitForFinished();
    if (creating_.isFinished() && !pc_ && creating_.future().resultCount() && creating_.result())
        (*creating_.result())->close();
    if (pc_) pc_->close();  // no callback runs after close() returns
}

void CallBridge::onQt(std::function<void()> fn) {
    QMetaObject::invokeMethod(this, std::move(fn), Qt::QueuedConnection);
}

bool CallBridge::polite() const {
    return negotiator_ && negotiator_->polite();
}

PeerConnectionCallbacks CallBridge::makeCallbacks() {
    PeerConnectionCallbacks cb;
    cb.onIceCandidate = [this](const std::optional<IceCandidate>& c) {
        onQt([this, c] {
            if (negotiator_) negotiator_->sendLocalCandidate(c);
        });
    };
    cb.onLocalCandidate = [this](const CandidateInfo& c) {
        onQt([this, c] { emit localCandidate(c); });
    };
    cb.onSignalingState = [this](SignalingState s) {
        onQt([this, s] { emit signalingStateChanged(s); });
    };
    cb.onIceGatheringState = [this](IceGatheringState s) {
        onQt([this, s] { emit gatheringStateChanged(s); });
    };
    cb.onIceConnectionState = [this](IceConnectionState s) {
        onQt([this, s] { emit iceStateChanged(s); });
    };
    cb.onConnectionState = [this](PeerConnectionState s) {
        onQt([this, s] { emit connectionStateChanged(s); });
    };
    cb.onSelectedPair = [this](const CandidatePair& p) {
        onQt([this, p] { emit selectedPairChanged(p); });
    };
    cb.onDtlsState = [this](DtlsState s, const std::string& reason) {
        onQt([this, s, r = QString::fromStdString(reason)] { emit dtlsStateChanged(s, r); });
    };
    cb.onDataChannel = [this](std::shared_ptr<DataChannel> ch) {
        if (ch->label() == kMessageLabel) {
            watchMessages(ch);
            onQt([this, ch] { incoming_ = ch; });
        } else if (ch->label() == "file") {
            emit fileChannel(ch);  // direct: the receiver takes the callbacks right here
        }
    };
    // Called on the network thread; the media bridge hops to the Qt thread itself.
    cb.onTrack = [this](std::shared_ptr<Track> track) { media_->onTrack(track); };
    return cb;
}

void CallBridge::watchMessages(const std::shared_ptr<DataChannel>& channel) {
    DataChannel::Callbacks cb;
    cb.onMessage = [this](ByteView data, bool binary) {
        if (binary) return;
        QByteArray copy(reinterpret_cast<const char*>(data.data()), qsizetype(data.size()));
        onQt([this, copy] { emit messageReceived(copy); });
    };
    channel->setCallbacks(std::move(cb));
}

void CallBridge::start(const CallConfig& config) {
    config_ = config;
    Configuration pcConfig;
    pcConfig.iceServers = config.iceServers;
    pcConfig.iceTransportPolicy =
        config.relayOnly ? IceTransportPolicy::Relay : IceTransportPolicy::All;
    pcConfig.allowLoopback = config.allowLoopback;
    pcConfig.interfaces = config.interfaces;
    auto callbacks = makeCallbacks();
    media_->start(config.media);
    // PeerConnection::create resolves the servers' names: never on the UI thread.
    creating_.setFuture(QtConcurrent::run(
        [pcConfig, callbacks] { return PeerConnection::create(pcConfig, callbacks); }));
}

void CallBridge::onCreated(Result<std::shared_ptr<PeerConnection>> result) {
    if (ended_) {
        if (result) (*result)->close();
        return;
    }
    if (!result) {
        emit failed(QString::fromStdString(result.message()));
        return;
    }
    pc_ = *result;
    auto channel = pc_->createDataChannel(kMessageLabel);
    if (channel) {
        outgoing_ = *channel;
        DataChannel::Callbacks cb;
        cb.onOpen = [this] { onQt([this] { emit messageChannelOpen(); }); };
        outgoing_->setCallbacks(std::move(cb));
        if (outgoing_->state() == DataChannelState::Open) emit messageChannelOpen();
    }
    // Before the negotiator starts: the first offer (ours or the peer's answer) carries them.
    QString mediaError;
    if (!media_->addTracks(*pc_, mediaError)) emit mediaFailed(mediaError);
    session::Negotiator::Hooks hooks;
    hooks.onJoined = [this](int peers) { emit joined(peers); };
    hooks.onPeerJoined = [this] { emit peerJoined(); };
    hooks.onPeerLeft = [this] { emit peerLeft(); };
    hooks.onRemoteHangup = [this] { emit remoteHangup(); };
    hooks.onRemoteCandidate = [this](const CandidateInfo& c) { emit remoteCandidate(c); };
    hooks.onReconnecting = [this](const std::string& why) {
        emit signalingReconnecting(QString::fromStdString(why));
    };
    hooks.onError = [this](const std::string& why) { emit failed(QString::fromStdString(why)); };
    negotiator_ = std::make_unique<session::Negotiator>(QUrl(config_.signalingUrl), pc_, hooks);
    emit created();
    negotiator_->start();
}

bool CallBridge::sendMessage(const QByteArray& json) {
    if (!outgoing_ || outgoing_->state() != DataChannelState::Open) return false;
    return outgoing_->send(std::string_view(json.constData(), size_t(json.size())));
}

void CallBridge::requestStats() {
    if (!pc_ || statsWatcher_.isRunning()) return;
    auto pc = pc_;
    statsWatcher_.setFuture(QtConcurrent::run([pc] { return pc->getStats(); }));
}

void CallBridge::hangup() {
    if (ended_) return;
    ended_ = true;
    if (negotiator_) negotiator_->hangup();
    if (outgoing_) outgoing_->close();
    if (pc_) pc_->close();
    media_->stop();
}

}  // namespace tincan::ui
