// Client side of the signaling protocol (../shared/SIGNALING.md) over Qt WebSockets.
// Lives on the Qt thread; callbacks run there.
#pragma once

#include <QObject>
#include <QTimer>
#include <QUrl>
#include <QWebSocket>

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "session/signal_message.hpp"

namespace tincan::session {

class SignalingClient : public QObject {
    Q_OBJECT
public:
    struct Callbacks {
        std::function<void(int peers)> onWelcome;
        std::function<void()> onPeerJoined;
        std::function<void()> onPeerLeft;
        // Every frame that is not the server's own, decoded: the peer's offer, answer,
        // candidate, bye and unknown types, and frames that could not be read
        // (signal::Malformed), which the receiver ignores and counts.
        std::function<void(const signal::Message&)> onMessage;
        // The server refused us ("room full", "bad room", ...) or the socket could not open.
        std::function<void(const std::string&)> onError;
        // The socket dropped after we had joined; reconnecting (only with setReconnect(true)).
        std::function<void(const std::string& why)> onReconnecting;
    };

    SignalingClient(QUrl url, Callbacks callbacks, QObject* parent = nullptr);

    void open();
    // After a drop, reopen with backoff (0.5 s doubling to 5 s) instead of reporting an error;
    // messages sent meanwhile are kept (up to 256) and go out once the room is joined again.
    void setReconnect(bool on) { reconnect_ = on; }
    void send(const nlohmann::json& message);
    void close();
    bool isOpen() const { return socket_.state() == QAbstractSocket::ConnectedState; }

    // Validates a ws:// or wss:// URL with a room path per SIGNALING.md; empty when fine.
    static std::string validateUrl(const std::string& url);

private:
    void onText(const QString& text);

    QUrl url_;
    Callbacks callbacks_;
    QWebSocket socket_;
    void scheduleReconnect(const std::string& why);

    bool closing_ = false;
    bool welcomed_ = false;      // ever (the room was joined once)
    bool welcomedHere_ = false;  // on the current socket
    bool failed_ = false;
    static constexpr int kConnectTimeoutMs = 10000;
    bool reconnect_ = false;
    int backoffMs_ = 500;
    QTimer connectTimer_;  // a listener that never answers the upgrade
    void fail(const std::string& why);
    std::vector<nlohmann::json> pending_;
};

}  // namespace tincan::session
