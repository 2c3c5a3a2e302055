// The call: remote video large with the self view small in its corner, the state in words,
// the controls (mute, camera, hang up, full screen, send file), chat and files beside it, and
// the diagnostics panel in a dock. Drop files anywhere on the window to send them.
#pragma once

#include <QMainWindow>
#include <QMap>
#include <QSet>
#include <QTimer>

#include "ui/bridge/call_bridge.hpp"
#include "ui/models/app_settings.hpp"
#include "ui/models/call_quality.hpp"
#include "ui/models/room.hpp"
#include "ui/windows/call_status.hpp"

class QDockWidget;
class QJsonObject;
class QLabel;
class QPushButton;
class QTabWidget;

namespace tincan::ui {

class ChatPanel;
class DiagnosticsPanel;
class QualityIndicator;
class TransferBridge;
class TransferList;
class VideoView;

class CallWindow : public QMainWindow {
    Q_OBJECT
public:
    CallWindow(const AppSettings& settings, const RoomAddress& room, QWidget* parent = nullptr);
    ~CallWindow() override;

    // Joins the room through config.signalingUrl (filled from the room when empty).
    void start(CallConfig config);
    void sendFiles(const QStringList& paths);
    void sendChat(const QString& text);
    void hangUp();

    // For the media layer and for tests.
    VideoView* remoteVideo() const { return remoteVideo_; }
    VideoView* selfVideo() const { return selfVideo_; }
    CallBridge* bridge() const { return bridge_; }
    DiagnosticsPanel* diagnostics() const { return diagnostics_; }
    ChatPanel* chat() const { return chat_; }
    TransferList* transferList() const { return transferList_; }
    QTabWidget* sideTabs() const { return sideTabs_; }
    const CallStatus& status() const { return status_; }
    QString headlineText() const;
    bool muted() const { return muted_; }
    bool cameraOn() const { return cameraOn_; }

signals:
    void muteChanged(bool muted);
    void cameraChanged(bool on);
    void ended();
    void transferFinished(int id, const QString& path, const QString& sha256);
    void transferFailed(int id, const QString& why);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    QWidget* buildVideoArea();
    QWidget* buildControls();
    void buildShortcuts();
    void wireBridge();
    void wireTransfers();
    void onMessage(const QByteArray& json);
    void onStats(const StatsReport& report);
    void fail(const QString& reason);
    void refreshStatus();
    // Media: what we send and play, and what the peer said about its camera and microphone.
    void wireMedia();
    void refreshMediaNote();
    void sendMediaState();
    void onRemoteMediaState(const QJsonObject& state);
    void checkRemoteVideo();
    // `resume`: a new leg of a stopped transfer, same id (the receiver continues its partial).
    void sendOffer(int id, const QString& name, quint64 size, bool resume = false);
    void resumeSending(int id);
    // The peer resumes offer `remoteId`: true when it continues one of our stopped rows.
    bool continueIncoming(int remoteId, const QString& name, quint64 size);

    AppSettings settings_;
    RoomAddress room_;
    CallBridge* bridge_ = nullptr;
    TransferBridge* transfers_ = nullptr;
    CallStatus status_;
    CallQuality quality_;
    QTimer statsTimer_;
    VideoView* remoteVideo_ = nullptr;
    VideoView* selfVideo_ = nullptr;
    QLabel* headline_ = nullptr;
    QLabel* detail_ = nullptr;
    QLabel* mediaNote_ = nullptr;
    QualityIndicator* qualityIndicator_ = nullptr;
    QPushButton* muteButton_ = nullptr;
    QPushButton* cameraButton_ = nullptr;
    QPushButton* selfViewButton_ = nullptr;
    ChatPanel* chat_ = nullptr;
    TransferList* transferList_ = nullptr;
    QTabWidget* sideTabs_ = nullptr;
    DiagnosticsPanel* diagnostics_ = nullptr;
    QDockWidget* diagnosticsDock_ = nullptr;
    QMap<int, int> incomingOffers_;  // our row id → the sender's offer id
    QSet<int> acceptedIncoming_;     // rows the person accepted (a resume needs no new yes)
    QList<QByteArray> queued_;       // messages waiting for the channel to open
    bool channelOpen_ = false;
    bool muted_ = false;
    bool cameraOn_ = true;
    bool remoteCameraOn_ = true;
    bool remoteMuted_ = false;
    quint64 framesDecoded_ = 0;  // ours (inbound-rtp video), sent to the peer once a second
};

}  // namespace tincan::ui
