// The first window: create a room (a short code and a link to copy), join one by code or
// link, or pick a recent room; settings.
#pragma once

#include <QWidget>

#include <optional>

#include "ui/bridge/local_signal_server.hpp"
#include "ui/models/app_settings.hpp"
#include "ui/models/room.hpp"

class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;
class QSettings;

namespace tincan::ui {

class StartWindow : public QWidget {
    Q_OBJECT
public:
    StartWindow(QSettings& store, QWidget* parent = nullptr);
    // Runs the embedded signaling server (LocalSignalServer) whenever no server is configured,
    // and stops it when one is (reloadSettings() applies a change). Its url is the one new
    // room links name.
    void setEmbeddedServer(LocalSignalServer::Scope scope, quint16 port);
    LocalSignalServer* embeddedServer() const { return local_; }
    // The server new rooms use when none is configured, once known.
    void setLocalServer(const QString& url);
    void setServerProblem(const QString& text);
    void setServerNotice(const QString& text);
    QString serverText() const;
    QString serverUrl() const;
    void createRoom();
    QLineEdit* joinField() const { return join_; }
    QString shownLink() const;
    void reloadSettings();

signals:
    void joinRequested(const tincan::ui::RoomAddress& room);
    void settingsRequested();

private:
    void join(const QString& text);
    void refreshRecent();
    void applyServerChoice();

    QSettings& store_;
    AppSettings settings_;
    QString localServer_;
    QString serverNotice_;
    LocalSignalServer* local_ = nullptr;
    std::optional<LocalSignalServer::Scope> embeddedScope_;
    quint16 embeddedPort_ = 0;
    QLabel* serverLabel_ = nullptr;
    QLabel* code_ = nullptr;
    QLineEdit* link_ = nullptr;
    QPushButton* copy_ = nullptr;
    QPushButton* startCall_ = nullptr;
    QLineEdit* join_ = nullptr;
    QLabel* joinError_ = nullptr;
    QListWidget* recent_ = nullptr;
    RoomAddress created_;
};

}  // namespace tincan::ui
