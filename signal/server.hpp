// The Qt side of the signaling server: a QTcpServer whose connections a QWebSocketServer
// (non-secure mode) upgrades, each WebSocket fed to the Hub, and the Hub's output carried out on
// the sockets.
//
// Strangers get few resources before they have completed the WebSocket upgrade (issue 8):
// - a connection that has not upgraded within `handshakeTimeoutMs` of being accepted is aborted
//   (silent sockets, a slowloris sending its request a byte at a time); QWebSocketServer arms
//   no timer of its own for connections handed to it by handleConnection();
// - one address holds at most `maxConnectionsPerAddress` connections, upgraded or not; more are
//   closed as soon as they are accepted;
// - connections are accepted here, not by QTcpServer (which only binds and listens): at EMFILE
//   Qt 6.4's QTcpServer neither pauses nor reports, and spins on a listening socket that stays
//   readable. Here accept() failing for want of descriptors pauses accepting, retried on a
//   timer or as soon as a connection closes. Waiting clients stay in the kernel's backlog and
//   are served once the handshake timeout has freed descriptors.
// Each of these is counted (ServerStats) and logged at debug level (warn for a pause), so that a
// flood cannot flood the log too.
#pragma once

#include <QHostAddress>
#include <QObject>
#include <QString>
#include <QTcpServer>
#include <QWebSocketServer>

#include <QSocketNotifier>
#include <QTimer>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "signal/hub.hpp"

class QTcpSocket;
class QWebSocket;

namespace tincan::signaling {

// Qt refuses frames and messages above this with close code 1009 before they reach the hub,
// which bounds the memory one client can pin. Between kMaxMessageBytes and this the hub answers
// with a proper `too large` error first.
inline constexpr std::uint64_t kTransportMessageLimit = 1024 * 1024;

// A peer that stops reading would make the server buffer whatever its partner sends, without
// end. Past this much unsent data it is dropped (and its partner gets `peer-left`).
inline constexpr std::int64_t kMaxSendBacklog = 8 * 1024 * 1024;

struct ServerConfig {
    HubConfig hub;
    int handshakeTimeoutMs = 5000;
    std::size_t maxConnectionsPerAddress = 64;
};

struct ServerStats {
    std::uint64_t accepted = 0;           // TCP connections taken from the listening socket
    std::uint64_t upgraded = 0;           // of those, completed the WebSocket upgrade
    std::uint64_t handshakeTimeouts = 0;  // aborted: no upgrade within handshakeTimeoutMs
    std::uint64_t refusedPerAddress = 0;  // closed at once: the address had too many
    std::uint64_t acceptPauses = 0;       // accept() failed (EMFILE...): paused, retried
};

struct ListenAddress {
    QString host;  // as given, without brackets
    std::uint16_t port = 0;
};

// Parses "HOST:PORT" or "[IPv6]:PORT". nullopt and `error` on a bad value.
std::optional<ListenAddress> parseListenAddress(const std::string& text, std::string& error);

class SignalServer : public QObject {
public:
    explicit SignalServer(ServerConfig config, QObject* parent = nullptr);
    explicit SignalServer(HubConfig hub, QObject* parent = nullptr)
        : SignalServer(ServerConfig{hub}, parent) {}
    ~SignalServer() override;

    // Starts listening; port 0 picks a free one. On failure returns false and sets `error`
    // to a short phrase such as "address already in use".
    bool listen(const QHostAddress& address, std::uint16_t port, std::string& error);
    QHostAddress address() const { return tcp_.serverAddress(); }
    std::uint16_t port() const { return tcp_.serverPort(); }

    // Stops accepting, closes every WebSocket (1001), then calls `done` once they are gone (or
    // after a short grace period).
    void shutdown(std::function<void()> done);

    // WebSockets open (upgraded), and TCP connections still in their handshake.
    std::size_t connectionCount() const { return sockets_.size(); }
    std::size_t pendingCount() const { return pending_.size(); }
    const Hub& hub() const { return hub_; }
    const ServerStats& stats() const { return stats_; }

private:
    // What a socket's address counts against; IPv4-mapped IPv6 counts as the IPv4 address.
    static std::string addressKey(const QHostAddress& address);
    void acceptReady();
    void adopt(int descriptor, const std::string& address);
    void pauseAccepting(int error);
    void resumeAccepting();
    void acceptWebSockets();
    void pendingGone(QTcpSocket* socket);
    void releaseAddress(const std::string& key);
    void socketClosed(PeerId peer);
    void drain();
    void finishShutdownIfIdle();

    struct Pending {
        std::string address;
        QHostAddress peerAddress;
        std::uint16_t peerPort = 0;
    };
    struct Open {
        QWebSocket* socket = nullptr;
        std::string address;
    };

    ServerConfig config_;
    QTcpServer tcp_;
    QWebSocketServer webSockets_;
    Hub hub_;
    ServerStats stats_;
    std::unordered_map<PeerId, Open> sockets_;
    std::unordered_map<QTcpSocket*, Pending> pending_;  // accepted, not upgraded yet
    std::unordered_map<std::string, std::size_t> perAddress_;
    std::unique_ptr<QSocketNotifier> acceptNotifier_;  // on tcp_'s descriptor; goes before it
    QTimer resumeTimer_;
    bool acceptPaused_ = false;
    PeerId nextPeer_ = 1;
    std::function<void()> shutdownDone_;
    bool shuttingDown_ = false;
};

}  // namespace tincan::signaling
