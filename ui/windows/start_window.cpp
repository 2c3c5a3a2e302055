#include "ui/windows/start_window.hpp"
#include "ui/theme.hpp"

#include <QApplication>
#include <QClipboard>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHostAddress>
#include <QIcon>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSettings>
#include <QVBoxLayout>

#include "tincan/version.hpp"

namespace tincan::ui {

StartWindow::StartWindow(QSettings& store, QWidget* parent)
    : QWidget(parent), store_(store), settings_(AppSettings::load(store)) {
    initResources();
    setWindowTitle(tr("Tincan"));
    setWindowIcon(QIcon(":/tincan/tincan.svg"));
    auto* v = new QVBoxLayout(this);
    auto* header = new QHBoxLayout;
    auto* logo = new QLabel;
    logo->setPixmap(QIcon(":/tincan/tincan.svg").pixmap(48, 48));
    auto* title =
        new QLabel(tr("<h2>Tincan</h2>Calls, chat and files straight between two computers — %1")
                       .arg(version()));
    header->addWidget(logo);
    header->addWidget(title, 1);
    v->addLayout(header);

    auto* create = new QGroupBox(tr("Start a call"));
    auto* cv = new QVBoxLayout(create);
    auto* createButton = new QPushButton(tr("Create a room"));
    code_ = new QLabel;
    code_->setObjectName("roomCode");
    code_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont big = code_->font();
    big.setPointSizeF(big.pointSizeF() * 2);
    big.setBold(true);
    code_->setFont(big);
    link_ = new QLineEdit;
    link_->setReadOnly(true);
    copy_ = new QPushButton(tr("Copy link"));
    startCall_ = new QPushButton(tr("Enter the room"));
    auto* linkRow = new QHBoxLayout;
    linkRow->addWidget(link_, 1);
    linkRow->addWidget(copy_);
    cv->addWidget(createButton);
    cv->addWidget(code_);
    cv->addLayout(linkRow);
    cv->addWidget(startCall_);
    for (QWidget* w : {static_cast<QWidget*>(link_), static_cast<QWidget*>(copy_),
                       static_cast<QWidget*>(startCall_)})
        w->setEnabled(false);
    serverLabel_ = new QLabel;
    serverLabel_->setWordWrap(true);
    cv->addWidget(serverLabel_);
    v->addWidget(create);

    auto* joinBox = new QGroupBox(tr("Join a call"));
    auto* jv = new QVBoxLayout(joinBox);
    join_ = new QLineEdit;
    join_->setPlaceholderText(
        tr("Room code or link, e.g. k7m-2qx or tincan://join/k7m-2qx?server=…"));
    auto* joinButton = new QPushButton(tr("Join"));
    joinError_ = new QLabel;
    joinError_->setStyleSheet("color: #cf222e");
    joinError_->hide();
    auto* joinRow = new QHBoxLayout;
    joinRow->addWidget(join_, 1);
    joinRow->addWidget(joinButton);
    jv->addLayout(joinRow);
    jv->addWidget(joinError_);
    jv->addWidget(new QLabel(tr("Recent rooms (double-click to join):")));
    recent_ = new QListWidget;
    recent_->setMaximumHeight(110);
    jv->addWidget(recent_);
    v->addWidget(joinBox);

    auto* settingsButton = new QPushButton(tr("Settings…"));
    auto* bottom = new QHBoxLayout;
    bottom->addStretch();
    bottom->addWidget(settingsButton);
    v->addLayout(bottom);

    connect(createButton, &QPushButton::clicked, this, &StartWindow::createRoom);
    connect(copy_, &QPushButton::clicked, this,
            [this] { QApplication::clipboard()->setText(link_->text()); });
    connect(startCall_, &QPushButton::clicked, this, [this] { join(created_.link()); });
    connect(joinButton, &QPushButton::clicked, this, [this] { join(join_->text()); });
    connect(join_, &QLineEdit::returnPressed, this, [this] { join(join_->text()); });
    connect(recent_, &QListWidget::itemDoubleClicked, this,
            [this](QListWidgetItem* item) { join(item->text()); });
    connect(settingsButton, &QPushButton::clicked, this, &StartWindow::settingsRequested);
    refreshRecent();
    setServerProblem({});
    resize(560, 520);
}

QString StartWindow::serverUrl() const {
    return settings_.signalingServer.isEmpty() ? localServer_ : settings_.signalingServer;
}

void StartWindow::setEmbeddedServer(LocalSignalServer::Scope scope, quint16 port) {
    embeddedScope_ = scope;
    embeddedPort_ = port;
    applyServerChoice();
}

void StartWindow::applyServerChoice() {
    if (!embeddedScope_) return;
    const bool wanted = settings_.signalingServer.isEmpty();
    if (!wanted) {
        // A configured server replaces it: nothing listens that the person did not ask for.
        if (local_) {
            delete local_;
            local_ = nullptr;
        }
        localServer_.clear();
        serverNotice_.clear();
        setServerProblem({});
        return;
    }
    if (local_) return;
    local_ = new LocalSignalServer(this);
    connect(local_, &LocalSignalServer::notice, this, &StartWindow::setServerNotice);
    connect(local_, &LocalSignalServer::ready, this, &StartWindow::setLocalServer);
    connect(local_, &LocalSignalServer::failed, this, [this](const QString& why) {
        setServerProblem(tr("the built-in signaling server could not start: %1. Set a signaling "
                            "server in Settings, or close the program using the port and "
                            "restart Tincan.")
                             .arg(why));
    });
    setServerProblem({});
    local_->start(*embeddedScope_, embeddedPort_);
}

void StartWindow::setLocalServer(const QString& url) {
    localServer_ = url;
    setServerProblem({});
    // A room created while the server was starting gets the link it was waiting for.
    if (!created_.code.isEmpty() && created_.server.isEmpty()) {
        created_.server = url;
        link_->setText(created_.link());
        for (QWidget* w : {static_cast<QWidget*>(link_), static_cast<QWidget*>(copy_),
                           static_cast<QWidget*>(startCall_)})
            w->setEnabled(true);
    }
}

void StartWindow::setServerNotice(const QString& text) {
    serverNotice_ = text;
    setServerProblem({});
}

void StartWindow::setServerProblem(const QString& text) {
    if (!text.isEmpty()) {
        serverLabel_->setText(
            tr("<span style='color:#cf222e'>Signaling: %1</span>").arg(text.toHtmlEscaped()));
        return;
    }
    QString shown;
    if (serverUrl().isEmpty())
        shown = tr("Starting the built-in signaling server…");
    else if (settings_.signalingServer.isEmpty())
        shown = (local_ && QHostAddress(local_->host()).isLoopback()
                     ? tr("Built-in signaling server: %1 (this computer only)")
                     : tr("Built-in signaling server: %1 (people on this network can join)"))
                    .arg(serverUrl().toHtmlEscaped());
    else
        shown = tr("Signaling server: %1").arg(serverUrl().toHtmlEscaped());
    if (!serverNotice_.isEmpty())
        shown += tr("<br><span style='color:#9a6700'>%1</span>").arg(serverNotice_.toHtmlEscaped());
    serverLabel_->setText(shown);
}

QString StartWindow::serverText() const {
    return serverLabel_->text();
}

void StartWindow::reloadSettings() {
    settings_ = AppSettings::load(store_);
    applyServerChoice();
    setServerProblem({});
    refreshRecent();
}

void StartWindow::createRoom() {
    created_ = RoomAddress{newRoomCode(), serverUrl()};
    code_->setText(created_.code);
    link_->setText(created_.link());
    for (QWidget* w : {static_cast<QWidget*>(link_), static_cast<QWidget*>(copy_),
                       static_cast<QWidget*>(startCall_)})
        w->setEnabled(!created_.server.isEmpty());
}

QString StartWindow::shownLink() const {
    return link_->text();
}

void StartWindow::join(const QString& text) {
    auto room = parseRoom(text);
    if (!room) {
        joinError_->setText(
            tr("That is neither a room code (letters, digits, - and _) nor a tincan:// or ws:// "
               "link."));
        joinError_->show();
        return;
    }
    if (room->server.isEmpty()) room->server = serverUrl();
    if (room->server.isEmpty()) {
        joinError_->setText(
            tr("No signaling server yet: set one in Settings, or wait for the local one."));
        joinError_->show();
        return;
    }
    joinError_->hide();
    settings_.addRecentRoom(room->link());
    store_.setValue("rooms/recent", settings_.recentRooms);
    refreshRecent();
    emit joinRequested(*room);
}

void StartWindow::refreshRecent() {
    recent_->clear();
    recent_->addItems(settings_.recentRooms);
}

}  // namespace tincan::ui
