// The signaling server the app runs itself when none is configured: the same code as
// tincan-signal (app/signal's SignalServer and Hub), in this process, on a thread of its own so
// that a burst of WebSocket traffic never stalls the UI loop. It listens on the address the room
// link names: this computer's LAN address (so a second computer on the network can join), or
// loopback for the demo and tests.
#pragma once

#include <QObject>
#include <QString>

#include <cstdint>

class QThread;

namespace tincan::signaling {
class SignalServer;
}

namespace tincan::ui {

class LocalSignalServer : public QObject {
    Q_OBJECT
public:
    // tincan-signal's own default, so a link stays the same from one run to the next.
    static constexpr quint16 kDefaultPort = 8765;

    enum class Scope : uint8_t {
        ThisComputer = 1,  // 127.0.0.1: the demo and tests
        Lan,               // the LAN address (lanAddress()); loopback with a notice when none
    };

    explicit LocalSignalServer(QObject* parent = nullptr);
    ~LocalSignalServer() override;

    // Asynchronous: `ready` (after `notice`, if there is one) or `failed` follows. `port` 0
    // takes any free port; a busy `port` falls back to a free one, with a notice that says so.
    void start(Scope scope = Scope::ThisComputer, quint16 port = 0);
    // The same on a given address; `notice` is passed on with `ready`.
    void startOn(const QString& host, quint16 port, const QString& notice = {});
    // Closes every connection and stops the thread. Blocks for at most ~2 s.
    void stop();
    bool isReady() const { return port_ != 0; }
    quint16 port() const { return port_; }
    QString host() const { return host_; }
    // ws://HOST:PORT, HOST the address listened on.
    QString url() const { return url_; }
    // Something the person should know although the server runs (a busy port, no LAN), or empty.
    QString noticeText() const { return notice_; }
    // The first IPv4 address of an interface that is up, not loopback and not link-local
    // (private ranges first); empty when this computer is on no network.
    static QString lanAddress();
    // The thread the server runs on (null when stopped), never the UI thread.
    QThread* serverThread() const { return thread_; }

signals:
    void ready(const QString& url);
    void notice(const QString& text);
    void failed(const QString& why);

private:
    void listened(const QString& host, quint16 port, const QString& why);

    QThread* thread_ = nullptr;
    QObject* context_ = nullptr;                         // lives on thread_
    tincan::signaling::SignalServer* server_ = nullptr;  // lives on thread_
    QString host_;
    QString url_;
    QString notice_;
    quint16 port_ = 0;
};

}  // namespace tincan::ui
