// The Qt side of the signaling server: a QTcpServer whose connections a QWebSocketServer
// (non-secure mode) upgrades, each WebSocket fed to the Hub, and the Hub's output carried out on
// the sockets.
#pragma once

#include <QHostAddress>
#include <QObject>
#include <QString>
#include <QTcpServer>
#include <QWebSocketServer>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "app/signal/hub.hpp"

class QWebSocket;

namespace tincan::signaling {

// Qt refuses frames and messages above this with close code 1009 before they reach the hub,
// which bounds the memory one client can pin. Between kMaxMessageBytes and this the hub answers
// with a proper `too large` error first.
inline constexpr std::uint64_t kTransportMessageLimit = 1024 * 1024;

// A peer that stops reading would make the server buffer whatever its partner sends, without
// end. Past this much unsent data it is dropped (and its partner gets `peer-left`).
inline constexpr std::int64_t kMaxSendBacklog = 8 * 1024 * 1024;

struct ListenAddress {
    QString host;  // as given, without brackets
    std::uint16_t port = 0;
};

// Parses "HOST:PORT" or "[IPv6]:PORT". nullopt and `error` on a bad value.
std::optional<ListenAddress> parseListenAddress(const std::string& text, std::string& error);

class SignalServer : public QObject {
public:
    explicit SignalServer(HubConfig config, QObject* parent = nullptr);
    ~SignalServer() override;

    // Starts listening; port 0 picks a free one. On failure returns false and sets `error`
    // to a short phrase such as "address already in use".
    bool listen(const QHostAddress& address, std::uint16_t port, std::string& error);
    QHostAddress address() const { return tcp_.serverAddress(); }
    std::uint16_t port() const { return tcp_.serverPort(); }

    // Stops accepting, closes every WebSocket (1001), then calls `done` once they are gone (or
    // after a short grace period).
    void shutdown(std::function<void()> done);

    std::size_t connectionCount() const { return sockets_.size(); }
    const Hub& hub() const { return hub_; }

private:
    void acceptTcp();
    void acceptWebSockets();
    void socketClosed(PeerId peer);
    void drain();
    void finishShutdownIfIdle();

    QTcpServer tcp_;
    QWebSocketServer webSockets_;
    Hub hub_;
    std::unordered_map<PeerId, QWebSocket*> sockets_;
    PeerId nextPeer_ = 1;
    std::function<void()> shutdownDone_;
    bool shuttingDown_ = false;
};

}  // namespace tincan::signaling
