#include "app/signal/server.hpp"

#include <QTcpSocket>
#include <QTimer>
#include <QUrl>
#include <QWebSocket>

#include <charconv>
#include <utility>

#include <spdlog/spdlog.h>

namespace tincan::signaling {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

constexpr int kShutdownGraceMs = 1000;

std::string socketErrorPhrase(QAbstractSocket::SocketError error, const QString& fallback) {
    switch (error) {
        case QAbstractSocket::AddressInUseError:
            return "address already in use";
        case QAbstractSocket::SocketAccessError:
            return "permission denied";
        case QAbstractSocket::SocketAddressNotAvailableError:
            return "address not available";
        case QAbstractSocket::UnsupportedSocketOperationError:
            return "address family not supported";
        default:
            return fallback.toStdString();
    }
}

}  // namespace

std::optional<ListenAddress> parseListenAddress(const std::string& text, std::string& error) {
    std::string host;
    std::string port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            error = "expected [IPv6]:PORT";
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos) {
            error = "expected HOST:PORT";
            return std::nullopt;
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string::npos) {
            error = "an IPv6 address needs brackets, as in [::1]:8765";
            return std::nullopt;
        }
    }
    if (host.empty()) {
        error = "missing host";
        return std::nullopt;
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
        error = "port must be a number from 0 to 65535";
        return std::nullopt;
    }
    return ListenAddress{QString::fromStdString(host), static_cast<std::uint16_t>(value)};
}

SignalServer::SignalServer(HubConfig config, QObject* parent)
    : QObject(parent),
      webSockets_(QStringLiteral("tincan-signal"), QWebSocketServer::NonSecureMode),
      hub_(config) {
    // The listening socket is ours (so that its errors are precise); the WebSocket server only
    // runs the handshakes.
    connect(&tcp_, &QTcpServer::newConnection, this, &SignalServer::acceptTcp);
    connect(&webSockets_, &QWebSocketServer::newConnection, this, &SignalServer::acceptWebSockets);
    connect(&webSockets_, &QWebSocketServer::serverError, this,
            [](QWebSocketProtocol::CloseCode code) {
                spdlog::debug("handshake refused (close code {})", static_cast<int>(code));
            });
}

SignalServer::~SignalServer() {
    // Open ones and those awaiting deleteLater(), before tcp_ and webSockets_ go.
    for (QWebSocket* socket : findChildren<QWebSocket*>(Qt::FindDirectChildrenOnly)) {
        socket->disconnect(this);
        socket->abort();
        delete socket;
    }
}

bool SignalServer::listen(const QHostAddress& address, std::uint16_t port, std::string& error) {
    if (tcp_.listen(address, port)) return true;
    error = socketErrorPhrase(tcp_.serverError(), tcp_.errorString());
    return false;
}

void SignalServer::acceptTcp() {
    while (QTcpSocket* socket = tcp_.nextPendingConnection()) {
        if (shuttingDown_) {
            socket->abort();
            socket->deleteLater();
            continue;
        }
        webSockets_.handleConnection(socket);
    }
}

void SignalServer::acceptWebSockets() {
    while (QWebSocket* socket = webSockets_.nextPendingConnection()) {
        socket->setParent(this);
        if (shuttingDown_) {
            socket->close(QWebSocketProtocol::CloseCodeGoingAway);
            socket->deleteLater();
            continue;
        }
        // Set before the event loop runs again, so before the first frame is read.
        socket->setMaxAllowedIncomingFrameSize(kTransportMessageLimit);
        socket->setMaxAllowedIncomingMessageSize(kTransportMessageLimit);

        const PeerId peer = nextPeer_++;
        sockets_.emplace(peer, socket);
        connect(socket, &QWebSocket::textMessageReceived, this, [this, peer](const QString& text) {
            // The exact bytes of the frame: Qt has checked that they are UTF-8.
            const QByteArray utf8 = text.toUtf8();
            hub_.handleText(peer, std::string_view(utf8.constData(), utf8.size()));
            drain();
        });
        connect(socket, &QWebSocket::binaryMessageReceived, this, [this, peer](const QByteArray&) {
            hub_.handleBinary(peer);
            drain();
        });
        connect(socket, &QWebSocket::disconnected, this, [this, peer] { socketClosed(peer); });

        // The query and fragment are not part of the room (SIGNALING.md: ROOM is the path).
        const QString path = socket->requestUrl().path(QUrl::FullyEncoded);
        hub_.handleOpen(peer, path.toStdString());
        drain();
    }
}

void SignalServer::socketClosed(PeerId peer) {
    const auto it = sockets_.find(peer);
    if (it == sockets_.end()) return;
    QWebSocket* socket = it->second;
    // Qt's own refusals (a frame over kTransportMessageLimit, bad UTF-8, protocol errors) close
    // the socket before the hub sees anything.
    if (socket->closeCode() != QWebSocketProtocol::CloseCodeNormal)
        spdlog::debug("socket closed: {} {}", static_cast<int>(socket->closeCode()),
                      socket->closeReason().toStdString());
    sockets_.erase(it);
    socket->deleteLater();  // never inside its own signal
    hub_.handleClosed(peer);
    drain();
    finishShutdownIfIdle();
}

void SignalServer::drain() {
    // Closing a socket can emit disconnected() synchronously, which re-enters drain(); the hub's
    // queue keeps the order either way.
    while (std::optional<HubOutput> out = hub_.poll()) {
        std::visit(
            Overloaded{
                [this](const SendText& send) {
                    const auto it = sockets_.find(send.to);
                    if (it == sockets_.end()) return;
                    QWebSocket* socket = it->second;
                    if (socket->bytesToWrite() > kMaxSendBacklog) {
                        spdlog::warn("dropping a peer that does not read ({} bytes unsent)",
                                     socket->bytesToWrite());
                        socket->abort();  // its disconnected() tells the hub
                        return;
                    }
                    socket->sendTextMessage(QString::fromUtf8(send.text));
                },
                [this](const ClosePeer& close) {
                    const auto it = sockets_.find(close.peer);
                    if (it != sockets_.end())
                        it->second->close(static_cast<QWebSocketProtocol::CloseCode>(close.code));
                },
                [](const RoomChange& change) {
                    spdlog::info("room {}: peer {}, {} in room", change.room,
                                 change.kind == RoomChange::Kind::Joined ? "joined" : "left",
                                 change.peers);
                },
                [](const Rejected& rejected) {
                    if (rejected.room.empty())
                        spdlog::info("refused a peer: {}", rejected.reason);
                    else
                        spdlog::info("room {}: refused a peer: {}", rejected.room, rejected.reason);
                },
            },
            *out);
    }
}

void SignalServer::shutdown(std::function<void()> done) {
    shutdownDone_ = std::move(done);
    shuttingDown_ = true;
    tcp_.close();
    hub_.closeAll();
    drain();
    QTimer::singleShot(kShutdownGraceMs, this, [this] {
        if (!shutdownDone_) return;
        spdlog::debug("{} socket(s) did not close in time", sockets_.size());
        std::exchange(shutdownDone_, nullptr)();
    });
    finishShutdownIfIdle();
}

void SignalServer::finishShutdownIfIdle() {
    if (shuttingDown_ && sockets_.empty() && shutdownDone_) std::exchange(shutdownDone_, nullptr)();
}

}  // namespace tincan::signaling
