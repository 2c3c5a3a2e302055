#include "ui/windows/call_window.hpp"
#include "ui/theme.hpp"

#include <QDockWidget>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QIcon>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QPushButton>
#include <QScrollArea>
#include <QShortcut>
#include <QSplitter>
#include <QTabWidget>
#include <QVBoxLayout>

#include <algorithm>

#include "ui/bridge/transfer_bridge.hpp"
#include "ui/diagnostics/diagnostics_panel.hpp"
#include "ui/diagnostics/path_words.hpp"
#include "ui/diagnostics/timeline.hpp"
#include "ui/dialogs/shortcuts_dialog.hpp"
#include "ui/widgets/chat_panel.hpp"
#include "ui/widgets/quality_indicator.hpp"
#include "ui/widgets/transfer_list.hpp"
#include "ui/widgets/video_view.hpp"

namespace tincan::ui {

CallWindow::CallWindow(const AppSettings& settings, const RoomAddress& room, QWidget* parent)
    : QMainWindow(parent), settings_(settings), room_(room) {
    initResources();
    setWindowTitle(tr("Tincan — room %1").arg(room.code));
    setWindowIcon(QIcon(":/tincan/tincan.svg"));
    setAcceptDrops(true);
    // Created first so it is destroyed first: its PeerConnection stops before the transfers go.
    bridge_ = new CallBridge(this);
    transfers_ = new TransferBridge(this);
    transfers_->setDownloadFolder(settings.downloadFolder);

    auto* central = new QSplitter(Qt::Horizontal);
    auto* left = new QWidget;
    auto* lv = new QVBoxLayout(left);
    headline_ = new QLabel;
    headline_->setObjectName("headline");
    QFont big = headline_->font();
    big.setPointSizeF(big.pointSizeF() * 1.2);
    big.setBold(true);
    headline_->setFont(big);
    detail_ = new QLabel;
    detail_->setWordWrap(true);
    detail_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    qualityIndicator_ = new QualityIndicator;
    auto* statusRow = new QHBoxLayout;
    statusRow->addWidget(headline_, 1);
    statusRow->addWidget(qualityIndicator_);
    mediaNote_ = new QLabel;
    mediaNote_->setObjectName("mediaNote");
    mediaNote_->setWordWrap(true);
    mediaNote_->setStyleSheet("color: palette(placeholder-text)");
    lv->addLayout(statusRow);
    lv->addWidget(detail_);
    lv->addWidget(mediaNote_);
    lv->addWidget(buildVideoArea(), 1);
    lv->addWidget(buildControls());

    sideTabs_ = new QTabWidget;
    chat_ = new ChatPanel;
    transferList_ = new TransferList;
    auto* files = new QWidget;
    auto* fv = new QVBoxLayout(files);
    auto* sendButton = new QPushButton(tr("Send files…"));
    connect(sendButton, &QPushButton::clicked, this, [this] {
        QStringList paths = QFileDialog::getOpenFileNames(this, tr("Send files"));
        if (!paths.isEmpty()) sendFiles(paths);
    });
    auto* scroll = new QScrollArea;
    scroll->setWidgetResizable(true);
    scroll->setWidget(transferList_);
    fv->addWidget(new QLabel(tr("Drop files on the window, or:")));
    fv->addWidget(sendButton);
    fv->addWidget(scroll, 1);
    sideTabs_->addTab(chat_, tr("Chat"));
    sideTabs_->addTab(files, tr("Files"));
    central->addWidget(left);
    central->addWidget(sideTabs_);
    central->setStretchFactor(0, 3);
    central->setStretchFactor(1, 1);
    central->setSizes({740, 360});
    setCentralWidget(central);

    diagnostics_ = new DiagnosticsPanel;
    diagnostics_->setLabel(tr("tincan room %1").arg(room.code));
    diagnostics_->setServers(settings.iceServers(), settings.alwaysRelay, false);
    diagnosticsDock_ = new QDockWidget(tr("Connection diagnostics"), this);
    diagnosticsDock_->setObjectName("diagnosticsDock");
    diagnosticsDock_->setWidget(diagnostics_);
    addDockWidget(Qt::BottomDockWidgetArea, diagnosticsDock_);
    diagnosticsDock_->hide();

    buildShortcuts();
    wireBridge();
    wireTransfers();
    wireMedia();
    connect(chat_, &ChatPanel::send, this, &CallWindow::sendChat);
    statsTimer_.setInterval(1000);
    connect(&statsTimer_, &QTimer::timeout, bridge_, &CallBridge::requestStats);
    refreshStatus();
    resize(1100, 720);
}

CallWindow::~CallWindow() {
    bridge_->hangup();
    delete bridge_;  // no network callback runs after this
}

QWidget* CallWindow::buildVideoArea() {
    remoteVideo_ = new VideoView;
    remoteVideo_->setObjectName("remoteVideo");
    remoteVideo_->setPlaceholder(tr("The other person's video appears here"));
    selfVideo_ = new VideoView(remoteVideo_);
    selfVideo_->setObjectName("selfVideo");
    selfVideo_->setMirrored(true);
    selfVideo_->setFramed(true);
    selfVideo_->setPlaceholder(tr("You"));
    selfVideo_->setFixedSize(200, 112);
    // Keep the self view in the remote view's bottom-right corner.
    connect(remoteVideo_, &VideoView::resized, this, [this] {
        selfVideo_->move(remoteVideo_->width() - selfVideo_->width() - 12,
                         remoteVideo_->height() - selfVideo_->height() - 12);
        // Frames are converted to the size they are drawn at, off the UI thread.
        const qreal dpr = devicePixelRatioF();
        bridge_->media()->setViewSizes((QSizeF(remoteVideo_->size()) * dpr).toSize(),
                                       (QSizeF(selfVideo_->size()) * dpr).toSize());
    });
    remoteVideo_->setMinimumSize(480, 270);
    return remoteVideo_;
}

QWidget* CallWindow::buildControls() {
    auto* bar = new QWidget;
    auto* h = new QHBoxLayout(bar);
    muteButton_ = new QPushButton(tr("Mute (M)"));
    cameraButton_ = new QPushButton(tr("Camera off (V)"));
    selfViewButton_ = new QPushButton(tr("Hide self view"));
    auto* full = new QPushButton(tr("Full screen (F11)"));
    auto* diag = new QPushButton(tr("Diagnostics"));
    auto* keys = new QPushButton(tr("Shortcuts (F1)"));
    auto* hang = new QPushButton(tr("Hang up (Ctrl+D)"));
    hang->setObjectName("hangUp");
    hang->setStyleSheet("QPushButton { background: #cf222e; color: white; padding: 4px 12px; }");
    for (auto* b : {muteButton_, cameraButton_, selfViewButton_, full, diag, keys}) h->addWidget(b);
    h->addStretch();
    h->addWidget(hang);
    connect(muteButton_, &QPushButton::clicked, this, [this] {
        muted_ = !muted_;
        muteButton_->setText(muted_ ? tr("Unmute (M)") : tr("Mute (M)"));
        bridge_->media()->setMuted(muted_);
        sendMediaState();
        refreshMediaNote();
        emit muteChanged(muted_);
    });
    connect(cameraButton_, &QPushButton::clicked, this, [this] {
        cameraOn_ = !cameraOn_;
        cameraButton_->setText(cameraOn_ ? tr("Camera off (V)") : tr("Camera on (V)"));
        bridge_->media()->setCameraOn(cameraOn_);
        selfVideo_->clear();
        selfVideo_->setPlaceholder(cameraOn_ ? tr("You") : tr("Camera off"));
        sendMediaState();
        refreshMediaNote();
        emit cameraChanged(cameraOn_);
    });
    connect(selfViewButton_, &QPushButton::clicked, this, [this] {
        selfVideo_->setVisible(!selfVideo_->isVisible());
        selfViewButton_->setText(selfVideo_->isVisible() ? tr("Hide self view")
                                                         : tr("Show self view"));
    });
    connect(full, &QPushButton::clicked, this,
            [this] { isFullScreen() ? showNormal() : showFullScreen(); });
    connect(diag, &QPushButton::clicked, this,
            [this] { diagnosticsDock_->setVisible(!diagnosticsDock_->isVisible()); });
    connect(keys, &QPushButton::clicked, this, [this] { ShortcutsDialog(this).exec(); });
    connect(hang, &QPushButton::clicked, this, &CallWindow::hangUp);
    return bar;
}

void CallWindow::buildShortcuts() {
    auto bind = [this](const QKeySequence& key, std::function<void()> fn) {
        auto* s = new QShortcut(key, this);
        // Single-letter keys must not fire while typing a chat line.
        connect(s, &QShortcut::activated, this, [this, key, fn] {
            if (key.count() == 1 && key[0].keyboardModifiers() == Qt::NoModifier &&
                chat_->input()->hasFocus())
                return;
            fn();
        });
    };
    bind(QKeySequence(Qt::Key_M), [this] { muteButton_->click(); });
    bind(QKeySequence(Qt::Key_V), [this] { cameraButton_->click(); });
    bind(QKeySequence(Qt::CTRL | Qt::Key_D), [this] { hangUp(); });
    bind(QKeySequence(Qt::Key_F11), [this] { isFullScreen() ? showNormal() : showFullScreen(); });
    bind(QKeySequence(Qt::Key_F1), [this] { ShortcutsDialog(this).exec(); });
    bind(QKeySequence(Qt::CTRL | Qt::Key_I),
         [this] { diagnosticsDock_->setVisible(!diagnosticsDock_->isVisible()); });
}

QString CallWindow::headlineText() const {
    return headline_->text();
}

void CallWindow::refreshStatus() {
    headline_->setText(status_.headline());
    detail_->setText(status_.detail());
    detail_->setVisible(!status_.detail().isEmpty());
    detail_->setStyleSheet(status_.phase() == CallPhase::Failed ? "color: #cf222e" : "");
}

void CallWindow::start(CallConfig config) {
    if (config.signalingUrl.isEmpty()) config.signalingUrl = room_.signalingUrl();
    if (!config.media.synthetic) {
        config.media.cameraId = settings_.camera;
        config.media.microphone = settings_.microphone;
        config.media.speaker = settings_.speaker;
    }
    diagnostics_->setServers(config.iceServers, config.relayOnly, config.allowLoopback);
    diagnostics_->timeline()->add("call", tr("joining %1").arg(config.signalingUrl));
    bridge_->start(config);
    statsTimer_.start();
}

void CallWindow::wireBridge() {
    auto* tl = diagnostics_->timeline();
    connect(bridge_, &CallBridge::created, this,
            [this] { transfers_->setConnection(bridge_->connection()); });
    connect(bridge_, &CallBridge::joined, this, [this, tl](int peers) {
        tl->add("signaling", peers ? tr("joined, the other person is here")
                                   : tr("joined, waiting for the other person"));
        status_.joined(peers);
        refreshStatus();
    });
    connect(bridge_, &CallBridge::peerJoined, this, [this, tl] {
        tl->add("signaling", tr("the other person joined"));
        status_.peerJoined();
        refreshStatus();
    });
    connect(bridge_, &CallBridge::peerLeft, this,
            [tl] { tl->add("signaling", tr("the other person left the room")); });
    connect(bridge_, &CallBridge::remoteHangup, this, [this, tl] {
        tl->add("call", tr("the other person hung up"));
        status_.ended(tr("The other person hung up."));
        bridge_->media()->stop();
        remoteVideo_->clear();
        remoteVideo_->setPlaceholder(tr("The other person hung up"));
        refreshStatus();
        chat_->setSendEnabled(false);
    });
    connect(bridge_, &CallBridge::signalingReconnecting, this, [this, tl](const QString& why) {
        tl->add("signaling", tr("reconnecting: %1").arg(why));
        status_.signalingLost(why);
        refreshStatus();
    });
    connect(bridge_, &CallBridge::failed, this, &CallWindow::fail);
    connect(bridge_, &CallBridge::signalingStateChanged, this,
            [tl](SignalingState s) { tl->add("signaling", toString(s)); });
    connect(bridge_, &CallBridge::gatheringStateChanged, this, [this, tl](IceGatheringState s) {
        tl->add("gathering", toString(s));
        status_.gathering(s);
        refreshStatus();
    });
    connect(bridge_, &CallBridge::iceStateChanged, this, [this, tl](IceConnectionState s) {
        tl->add("ice", toString(s));
        status_.ice(s);
        refreshStatus();
        if (s == IceConnectionState::Failed) fail(tr("ICE failed"));
    });
    connect(bridge_, &CallBridge::dtlsStateChanged, this,
            [this, tl](DtlsState s, const QString& reason) {
                tl->add("dtls", reason.isEmpty() ? QString(toString(s))
                                                 : QString("%1 (%2)").arg(toString(s), reason));
                status_.dtls(s);
                refreshStatus();
                if (s == DtlsState::Failed)
                    fail(tr("the secure connection (DTLS) failed: %1").arg(reason));
            });
    connect(bridge_, &CallBridge::connectionStateChanged, this, [this, tl](PeerConnectionState s) {
        tl->add("connection", toString(s));
        if (s == PeerConnectionState::Connected) tl->markConnected();
        status_.connection(s);
        refreshStatus();
        if (s == PeerConnectionState::Failed) fail(tr("the connection failed"));
    });
    connect(bridge_, &CallBridge::selectedPairChanged, this, [this, tl](const CandidatePair& pair) {
        tl->add("ice", tr("selected pair %1 ↔ %2")
                           .arg(candidateInWords(pair.local), candidateInWords(pair.remote)));
        diagnostics_->setSelectedPair(pair);
        status_.selectedPath(pathInWords(pair));
        refreshStatus();
    });
    connect(bridge_, &CallBridge::messageChannelOpen, this, [this, tl] {
        tl->add("datachannel", tr("chat open"));
        channelOpen_ = true;
        chat_->setSendEnabled(true);
        sendMediaState();
        for (const auto& m : queued_) bridge_->sendMessage(m);
        queued_.clear();
    });
    connect(bridge_, &CallBridge::messageReceived, this, &CallWindow::onMessage);
    connect(bridge_, &CallBridge::stats, this, &CallWindow::onStats);
    // Network thread → the transfer bridge directly: the receiver must own the channel's
    // callbacks before its first message.
    TransferBridge* transfers = transfers_;
    connect(
        bridge_, &CallBridge::fileChannel, transfers_,
        [transfers](std::shared_ptr<DataChannel> ch) { transfers->takeIncoming(std::move(ch)); },
        Qt::DirectConnection);
}

void CallWindow::fail(const QString& reason) {
    if (status_.phase() == CallPhase::Failed || status_.phase() == CallPhase::Ended) return;
    StatsReport none;
    const StatsReport* latest = diagnostics_->latest();
    QString advice = reason.contains("ICE") || reason.contains("connection failed")
                         ? failureAdvice(latest ? *latest : none, diagnostics_->hasTurnServer())
                         : QString();
    diagnostics_->timeline()->add("call", tr("failed: %1").arg(reason));
    status_.failed(reason, advice);
    refreshStatus();
    chat_->setSendEnabled(false);
}

void CallWindow::onStats(const StatsReport& report) {
    diagnostics_->addStats(report);
    int checking = 0;
    for (const auto& p : report.candidatePairs)
        checking += p.state == "in-progress" || p.state == "waiting" || p.state == "succeeded";
    status_.pairsChecking(int(report.candidatePairs.size()) ? int(report.candidatePairs.size())
                                                            : checking);
    QualitySample sample;
    if (const auto* sel = report.selectedPair())
        sample.rttMs = sel->currentRoundTripTime ? std::optional(*sel->currentRoundTripTime * 1000)
                                                 : std::nullopt;
    for (const auto& in : report.inboundRtp)
        if (in.kind == "video" && in.framesDecoded) framesDecoded_ = *in.framesDecoded;
    for (const auto& r : report.remoteInboundRtp)
        sample.lossFraction = std::max(sample.lossFraction, r.fractionLost);
    checkRemoteVideo();
    // A stall is pictures that stopped while the peer's camera is on.
    sample.stalled = remoteCameraOn_ && remoteVideo_->framesReceived() > 0 &&
                     remoteVideo_->msSinceLastFrame() > 1000;
    sendMediaState();
    if (status_.phase() == CallPhase::Connected || status_.phase() == CallPhase::Reconnecting) {
        quality_.update(sample);
        qualityIndicator_->setQuality(quality_.level(), quality_.reason());
    }
    refreshStatus();
}

static QByteArray encode(const QJsonObject& o) {
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

void CallWindow::wireMedia() {
    MediaBridge* media = bridge_->media();
    connect(media, &MediaBridge::remoteFrame, this, [this](const QImage& frame) {
        // A frame already on its way when the peer said "camera off" is not shown.
        if (remoteCameraOn_) remoteVideo_->setFrame(frame);
    });
    connect(media, &MediaBridge::localFrame, this, [this](const QImage& frame) {
        if (cameraOn_) selfVideo_->setFrame(frame);
    });
    connect(media, &MediaBridge::sourcesChanged, this, &CallWindow::refreshMediaNote);
    connect(bridge_, &CallBridge::mediaFailed, this, [this](const QString& why) {
        diagnostics_->timeline()->add("media", tr("no audio or video: %1").arg(why));
        mediaNote_->setText(tr("No audio or video in this call: %1").arg(why));
    });
    refreshMediaNote();
}

void CallWindow::refreshMediaNote() {
    MediaBridge* media = bridge_->media();
    QStringList parts;
    if (!media->videoText().isEmpty())
        parts << (cameraOn_ ? media->videoText() : tr("Camera off: sending no video"));
    if (!media->audioText().isEmpty())
        parts << (muted_ ? tr("Muted: sending silence") : media->audioText());
    QString text = parts.join(" · ");
    if (remoteMuted_) text += (text.isEmpty() ? "" : " · ") + tr("The other person is muted");
    mediaNote_->setText(text);
    mediaNote_->setVisible(!text.isEmpty());
}

void CallWindow::sendMediaState() {
    // Tells the peer why our video stops (camera off, not a freeze) and what it got across.
    if (!channelOpen_) return;
    bridge_->sendMessage(encode({{"type", "media"},
                                 {"camera", cameraOn_},
                                 {"muted", muted_},
                                 {"framesDecoded", double(framesDecoded_)}}));
}

void CallWindow::onRemoteMediaState(const QJsonObject& state) {
    const bool camera = state.value("camera").toBool(true);
    const bool muted = state.value("muted").toBool(false);
    if (state.value("framesDecoded").isDouble())
        diagnostics_->setRemoteFramesDecoded(
            quint64(std::max(0.0, state.value("framesDecoded").toDouble())));
    if (camera != remoteCameraOn_) {
        remoteCameraOn_ = camera;
        diagnostics_->timeline()->add("media",
                                      camera ? tr("the other person turned their camera on")
                                             : tr("the other person turned their camera off"));
        if (!camera) remoteVideo_->clear();
        remoteVideo_->setPlaceholder(camera ? tr("The other person's video appears here")
                                            : tr("Camera off"));
    }
    if (muted != remoteMuted_) {
        remoteMuted_ = muted;
        refreshMediaNote();
    }
}

void CallWindow::checkRemoteVideo() {
    // Pictures that stop with no word from the peer (a browser does not send our "media"
    // message): say so rather than freeze on the last frame.
    if (remoteVideo_->hasFrame() && remoteVideo_->msSinceLastFrame() > 2000) {
        remoteVideo_->clear();
        remoteVideo_->setPlaceholder(
            remoteCameraOn_ ? tr("Camera off — no video from the other person") : tr("Camera off"));
    }
}

void CallWindow::sendChat(const QString& text) {
    QByteArray msg = encode({{"type", "chat"}, {"text", text}});
    if (!channelOpen_ || !bridge_->sendMessage(msg)) {
        chat_->addNotice(tr("Not sent (not connected): %1").arg(text));
        return;
    }
    chat_->addLine(tr("You"), text, true);
}

void CallWindow::sendOffer(int id, const QString& name, quint64 size, bool resume) {
    QJsonObject offer{{"type", "file-offer"}, {"id", id}, {"name", name}, {"size", double(size)}};
    if (resume) offer["resume"] = true;
    QByteArray msg = encode(offer);
    if (channelOpen_)
        bridge_->sendMessage(msg);
    else
        queued_ << msg;
}

void CallWindow::sendFiles(const QStringList& paths) {
    sideTabs_->setCurrentIndex(1);
    for (const auto& path : paths) {
        QFileInfo info(path);
        if (!info.isFile()) {
            chat_->addNotice(tr("%1 is not a file; not sent.").arg(path));
            continue;
        }
        int id = transfers_->addOutgoing(info.absoluteFilePath(), quint64(info.size()));
        sendOffer(id, info.fileName(), quint64(info.size()));
    }
}

void CallWindow::onMessage(const QByteArray& json) {
    // The peer's messages are untrusted: anything of the wrong shape is ignored.
    auto doc = QJsonDocument::fromJson(json);
    if (!doc.isObject()) return;
    auto o = doc.object();
    QString type = o.value("type").toString();
    if (type == "chat") {
        QString text = o.value("text").toString();
        if (!text.isEmpty()) chat_->addLine(tr("Them"), text.left(4000), false);
    } else if (type == "media") {
        onRemoteMediaState(o);
    } else if (type == "file-offer") {
        int remoteId = o.value("id").toInt(-1);
        QString name = o.value("name").toString();
        double size = o.value("size").toDouble(-1);
        if (remoteId < 0 || name.isEmpty() || size < 0) return;
        if (o.value("resume").toBool() && continueIncoming(remoteId, name, quint64(size))) {
            sideTabs_->setCurrentIndex(1);
            return;
        }
        int id = transfers_->expectIncoming(name, quint64(size));
        incomingOffers_[id] = remoteId;
        sideTabs_->setCurrentIndex(1);
        if (settings_.autoAcceptBytes && quint64(size) <= settings_.autoAcceptBytes) {
            acceptedIncoming_.insert(id);
            bridge_->sendMessage(
                encode({{"type", "file-answer"}, {"id", remoteId}, {"accept", true}}));
            transferList_->setWaiting(
                id, tr("accepted automatically (under the size limit); waiting for data"));
        } else {
            transferList_->askToAccept(id);
        }
    } else if (type == "file-answer") {
        int id = o.value("id").toInt(-1);
        if (o.value("accept").toBool()) {
            transferList_->setWaiting(id, tr("accepted; starting"));
            transfers_->startSending(id);
        } else {
            transferList_->setFailed(id, tr("the other person declined the file"));
        }
    }
}

void CallWindow::resumeSending(int id) {
    if (!transfers_->reopen(id)) return;
    transferList_->restart(id, tr("asking the other person to continue"));
    diagnostics_->timeline()->add("files", tr("resuming %1").arg(transfers_->name(id)));
    sendOffer(id, transfers_->name(id), transfers_->size(id), true);
}

bool CallWindow::continueIncoming(int remoteId, const QString& name, quint64 size) {
    for (auto it = incomingOffers_.cbegin(); it != incomingOffers_.cend(); ++it) {
        int id = it.key();
        if (it.value() != remoteId || transfers_->size(id) != size ||
            transfers_->name(id) != TransferBridge::storedName(name) || !transfers_->reopen(id))
            continue;
        if (acceptedIncoming_.contains(id)) {
            // Accepted before and stopped short: the same file goes on where it stopped.
            bridge_->sendMessage(
                encode({{"type", "file-answer"}, {"id", remoteId}, {"accept", true}}));
            transferList_->restart(id, tr("the other person resumed; waiting for data"));
        } else {
            transferList_->restart(id, QString());
            transferList_->askToAccept(id);
        }
        return true;
    }
    return false;
}

void CallWindow::wireTransfers() {
    connect(transfers_, &TransferBridge::added, transferList_, &TransferList::addRow);
    connect(transfers_, &TransferBridge::resumed, this,
            [this](int id, quint64 from, quint64) { transferList_->setResumed(id, from); });
    connect(transferList_, &TransferList::resumeClicked, this, &CallWindow::resumeSending);
    connect(transfers_, &TransferBridge::progress, transferList_, &TransferList::setProgress);
    connect(transfers_, &TransferBridge::finished, this,
            [this](int id, const QString& path, const QString& sha, double s) {
                transferList_->setDone(id, path, sha, s);
                diagnostics_->timeline()->add(
                    "files",
                    tr("%1 done (sha-256 %2)").arg(QFileInfo(path).fileName(), sha.left(16)));
                emit transferFinished(id, path, sha);
            });
    connect(transfers_, &TransferBridge::failed, this, [this](int id, const QString& why) {
        transferList_->setFailed(id, why);
        emit transferFailed(id, why);
    });
    connect(transferList_, &TransferList::acceptClicked, this, [this](int id) {
        acceptedIncoming_.insert(id);
        bridge_->sendMessage(
            encode({{"type", "file-answer"}, {"id", incomingOffers_.value(id)}, {"accept", true}}));
        transferList_->setWaiting(id, tr("accepted; waiting for data"));
    });
    connect(transferList_, &TransferList::rejectClicked, this, [this](int id) {
        bridge_->sendMessage(encode(
            {{"type", "file-answer"}, {"id", incomingOffers_.value(id)}, {"accept", false}}));
        transferList_->setFailed(id, tr("you declined the file"));
    });
    connect(transferList_, &TransferList::cancelClicked, transfers_, &TransferBridge::cancel);
    // Cancelled here: a later resume from the sender asks again.
    connect(transferList_, &TransferList::cancelClicked, this,
            [this](int id) { acceptedIncoming_.remove(id); });
}

void CallWindow::hangUp() {
    if (status_.phase() == CallPhase::Ended) return;
    diagnostics_->timeline()->add("call", tr("hung up"));
    bridge_->hangup();
    statsTimer_.stop();
    status_.ended(tr("You hung up."));
    remoteVideo_->clear();
    remoteVideo_->setPlaceholder(tr("Call ended"));
    selfVideo_->clear();
    refreshStatus();
    chat_->setSendEnabled(false);
    emit ended();
}

void CallWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void CallWindow::dropEvent(QDropEvent* event) {
    QStringList paths;
    for (const auto& url : event->mimeData()->urls())
        if (url.isLocalFile()) paths << url.toLocalFile();
    if (!paths.isEmpty()) sendFiles(paths);
    event->acceptProposedAction();
}

}  // namespace tincan::ui
