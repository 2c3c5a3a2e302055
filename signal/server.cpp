#include "signal/server.hpp"

#include <QTcpSocket>
#include <QTimer>
#include <QUrl>
#include <QWebSocket>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include <sys/socket.h>
#include <unistd.h>

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
// How long accepting stays paused after accept() failed for want of descriptors, unless a
// connection closes first.
constexpr int kAcceptRetryMs = 250;
constexpr int kAcceptBatch = 64;
constexpr int kListenBacklog = 1024;  // the kernel caps it at net.core.somaxconn

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

SignalServer::SignalServer(ServerConfig config, QObject* parent)
    : QObject(parent),
      config_(config),
      webSockets_(QStringLiteral("tincan-signal"), QWebSocketServer::NonSecureMode),
      hub_(config.hub) {
    // The listening socket is ours (so that its errors are precise); the WebSocket server only
    // runs the handshakes.
    connect(&webSockets_, &QWebSocketServer::newConnection, this, &SignalServer::acceptWebSockets);
    connect(&webSockets_, &QWebSocketServer::serverError, this,
            [](QWebSocketProtocol::CloseCode code) {
                spdlog::debug("handshake refused (close code {})", static_cast<int>(code));
            });
    resumeTimer_.setSingleShot(true);
    connect(&resumeTimer_, &QTimer::timeout, this, &SignalServer::resumeAccepting);
}

SignalServer::~SignalServer() {
    // Open ones and those awaiting deleteLater(), before tcp_ and webSockets_ go.
    for (QWebSocket* socket : findChildren<QWebSocket*>(Qt::FindDirectChildrenOnly)) {
        socket->disconnect(this);
        socket->abort();
        delete socket;
    }
    // Connections still in their handshake (QWebSocketServer only listens to them).
    for (const auto& [socket, pending] : std::exchange(pending_, {})) {
        socket->disconnect(this);
        socket->abort();
        delete socket;
    }
}

bool SignalServer::listen(const QHostAddress& address, std::uint16_t port, std::string& error) {
    // A burst of connections (a flood, or many clients reconnecting after a restart) must not
    // overflow the accept queue: a dropped SYN costs the client a 1 s retransmission.
    tcp_.setListenBacklogSize(kListenBacklog);
    if (!tcp_.listen(address, port)) {
        error = socketErrorPhrase(tcp_.serverError(), tcp_.errorString());
        return false;
    }
    tcp_.pauseAccepting();  // accept() is ours, see the header
    acceptNotifier_ =
        std::make_unique<QSocketNotifier>(tcp_.socketDescriptor(), QSocketNotifier::Read);
    connect(acceptNotifier_.get(), &QSocketNotifier::activated, this, &SignalServer::acceptReady);
    return true;
}

std::string SignalServer::addressKey(const QHostAddress& address) {
    bool isV4 = false;
    const quint32 v4 = address.toIPv4Address(&isV4);
    return (isV4 ? QHostAddress(v4) : address).toString().toStdString();
}

void SignalServer::acceptReady() {
    // A bounded batch, so that one busy listening socket cannot starve the open ones.
    for (int i = 0; i < kAcceptBatch && acceptNotifier_; ++i) {
        sockaddr_storage from = {};
        socklen_t fromLength = sizeof from;
        const int descriptor =
            ::accept4(static_cast<int>(tcp_.socketDescriptor()), reinterpret_cast<sockaddr*>(&from),
                      &fromLength, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (descriptor < 0) {
            const int error = errno;
            if (error == EAGAIN || error == EWOULDBLOCK) return;
            if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
                pauseAccepting(error);
                return;
            }
            continue;  // EINTR, or that one connection failed (ECONNABORTED, EPROTO...)
        }
        ++stats_.accepted;
        if (shuttingDown_) {
            ::close(descriptor);
            continue;
        }
        const std::string key = addressKey(QHostAddress(reinterpret_cast<sockaddr*>(&from)));
        const auto count = perAddress_.find(key);
        if (count != perAddress_.end() && count->second >= config_.maxConnectionsPerAddress) {
            ++stats_.refusedPerAddress;
            spdlog::debug("refused a connection from {}: {} open from that address", key,
                          count->second);
            ::close(descriptor);
            continue;
        }
        adopt(descriptor, key);
    }
}

void SignalServer::adopt(int descriptor, const std::string& address) {
    auto* socket = new QTcpSocket(this);
    if (!socket->setSocketDescriptor(descriptor)) {
        ::close(descriptor);
        delete socket;
        return;
    }
    ++perAddress_[address];
    pending_.emplace(socket, Pending{address, socket->peerAddress(), socket->peerPort()});
    // A failed handshake: QWebSocketServer closes the socket; it stays ours to delete.
    connect(socket, &QTcpSocket::disconnected, this, [this, socket] {
        if (pending_.count(socket) == 0) return;
        pendingGone(socket);
        socket->deleteLater();
    });
    // The timer belongs to the socket, so it cannot outlive it.
    QTimer::singleShot(config_.handshakeTimeoutMs, socket, [this, socket] {
        if (pending_.count(socket) == 0) return;
        ++stats_.handshakeTimeouts;
        spdlog::debug("no WebSocket upgrade from {} within {} ms", pending_.at(socket).address,
                      config_.handshakeTimeoutMs);
        pendingGone(socket);
        socket->disconnect(this);
        socket->abort();
        socket->deleteLater();
    });
    webSockets_.handleConnection(socket);
}

void SignalServer::pauseAccepting(int error) {
    if (!acceptPaused_) {
        ++stats_.acceptPauses;
        spdlog::warn("cannot accept connections ({}): paused, {} open, {} in handshake",
                     std::strerror(error), sockets_.size(), pending_.size());
    }
    acceptPaused_ = true;
    acceptNotifier_->setEnabled(false);
    if (!resumeTimer_.isActive()) resumeTimer_.start(kAcceptRetryMs);
}

void SignalServer::resumeAccepting() {
    if (!acceptPaused_ || shuttingDown_ || !acceptNotifier_) return;
    acceptPaused_ = false;
    resumeTimer_.stop();
    acceptNotifier_->setEnabled(true);  // a still-failing accept() pauses again
}

void SignalServer::pendingGone(QTcpSocket* socket) {
    const auto it = pending_.find(socket);
    if (it == pending_.end()) return;
    std::string key = std::move(it->second.address);
    pending_.erase(it);
    releaseAddress(key);
}

void SignalServer::releaseAddress(const std::string& key) {
    const auto it = perAddress_.find(key);
    if (it != perAddress_.end() && --it->second == 0) perAddress_.erase(it);
    resumeAccepting();  // a descriptor has been freed
}

void SignalServer::acceptWebSockets() {
    while (QWebSocket* socket = webSockets_.nextPendingConnection()) {
        socket->setParent(this);
        // Its TCP connection is no longer in its handshake; its address keeps counting.
        std::string key;
        for (auto it = pending_.begin(); it != pending_.end(); ++it) {
            if (it->second.peerPort == socket->peerPort() &&
                it->second.peerAddress == socket->peerAddress()) {
                it->first->disconnect(this);
                key = std::move(it->second.address);
                pending_.erase(it);
                break;
            }
        }
        if (key.empty()) {  // not one we accepted (cannot happen): count it anyway
            key = addressKey(socket->peerAddress());
            ++perAddress_[key];
        }
        ++stats_.upgraded;
        if (shuttingDown_) {
            releaseAddress(key);
            socket->close(QWebSocketProtocol::CloseCodeGoingAway);
            socket->deleteLater();
            continue;
        }
        // Set before the event loop runs again, so before the first frame is read.
        socket->setMaxAllowedIncomingFrameSize(kTransportMessageLimit);
        socket->setMaxAllowedIncomingMessageSize(kTransportMessageLimit);

        const PeerId peer = nextPeer_++;
        sockets_.emplace(peer, Open{socket, std::move(key)});
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

        // SIGNALING.md: the room is the whole path; a query or a fragment makes it a bad room,
        // so both are passed on for the hub to refuse.
        const QUrl url = socket->requestUrl();
        QString target = url.path(QUrl::FullyEncoded);
        if (url.hasQuery()) target += QLatin1Char('?') + url.query(QUrl::FullyEncoded);
        if (url.hasFragment()) target += QLatin1Char('#') + url.fragment(QUrl::FullyEncoded);
        hub_.handleOpen(peer, target.toStdString());
        drain();
    }
}

void SignalServer::socketClosed(PeerId peer) {
    const auto it = sockets_.find(peer);
    if (it == sockets_.end()) return;
    QWebSocket* socket = it->second.socket;
    const std::string key = std::move(it->second.address);
    // Qt's own refusals (a frame over kTransportMessageLimit, bad UTF-8, protocol errors) close
    // the socket before the hub sees anything.
    if (socket->closeCode() != QWebSocketProtocol::CloseCodeNormal)
        spdlog::debug("socket closed: {} {}", static_cast<int>(socket->closeCode()),
                      socket->closeReason().toStdString());
    sockets_.erase(it);
    socket->deleteLater();  // never inside its own signal
    releaseAddress(key);
    hub_.handleClosed(peer);
    drain();
    finishShutdownIfIdle();
}

void SignalServer::drain() {
    // Closing a socket can emit disconnected() synchronously, which re-enters drain(); the hub's
    // queue keeps the order either way.
    while (std::optional<HubOutput> out = hub_.poll()) {
        std::visit(Overloaded{
                       [this](const SendText& send) {
                           const auto it = sockets_.find(send.to);
                           if (it == sockets_.end()) return;
                           QWebSocket* socket = it->second.socket;
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
                               it->second.socket->close(
                                   static_cast<QWebSocketProtocol::CloseCode>(close.code));
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
                               spdlog::info("room {}: refused a peer: {}", rejected.room,
                                            rejected.reason);
                       },
                   },
                   *out);
    }
}

void SignalServer::shutdown(std::function<void()> done) {
    shutdownDone_ = std::move(done);
    shuttingDown_ = true;
    resumeTimer_.stop();
    acceptNotifier_.reset();
    tcp_.close();
    for (const auto& [socket, pending] : std::exchange(pending_, {})) {
        socket->disconnect(this);
        socket->abort();
        socket->deleteLater();
    }
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
