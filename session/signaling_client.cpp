#include "session/signaling_client.hpp"

#include "core/common/text.hpp"

#include <regex>

#include <spdlog/spdlog.h>

namespace tincan::session {

SignalingClient::SignalingClient(QUrl url, Callbacks callbacks, QObject* parent)
    : QObject(parent), url_(std::move(url)), callbacks_(std::move(callbacks)) {
    connect(&socket_, &QWebSocket::textMessageReceived, this, &SignalingClient::onText);
    connectTimer_.setSingleShot(true);
    connect(&connectTimer_, &QTimer::timeout, this, [this] {
        if (isOpen() || closing_) return;
        if (reconnect_ && welcomed_) {
            scheduleReconnect("no answer from the signaling server");
            return;
        }
        fail("cannot reach signaling server " + url_.toString().toStdString() +
             ": no answer within " + std::to_string(kConnectTimeoutMs / 1000) + " s");
    });
    connect(&socket_, &QWebSocket::connected, this, [this] {
        connectTimer_.stop();
        welcomedHere_ = false;
    });
    // A TLS handshake with a plain server, a refused connection, a bad certificate: the socket
    // may report the error without ever having connected (so without `disconnected`).
    connect(&socket_, QOverload<QAbstractSocket::SocketError>::of(&QWebSocket::error), this,
            [this](QAbstractSocket::SocketError) {
                if (closing_ || isOpen() || (reconnect_ && welcomed_)) return;
                fail("cannot reach signaling server " + url_.toString().toStdString() + ": " +
                     socket_.errorString().toStdString());
            });
    connect(&socket_, &QWebSocket::disconnected, this, [this] {
        if (closing_) return;
        std::string why = socket_.errorString().toStdString();
        if (reconnect_ && welcomed_) {
            scheduleReconnect(why.empty() ? "signaling connection lost" : why);
            return;
        }
        fail(welcomed_ ? "signaling connection lost" + (why.empty() ? "" : ": " + why)
                       : "cannot reach signaling server " + url_.toString().toStdString() +
                             (why.empty() ? "" : ": " + why));
    });
}

void SignalingClient::fail(const std::string& why) {
    if (failed_) return;  // one error line, whichever signal reports it first
    failed_ = true;
    connectTimer_.stop();
    if (callbacks_.onError) callbacks_.onError(why);
}

std::string SignalingClient::validateUrl(const std::string& url) {
    static const std::regex re(R"(^wss?://[^/\s?#]+/([A-Za-z0-9_-]{1,64})$)");
    const std::string expected =
        "expected ws://HOST:PORT/ROOM with a room of 1-64 characters [A-Za-z0-9_-]";
    if (!std::regex_match(url, re)) return "bad --signal '" + url + "': " + expected;
    // The port first, in plain words: QUrl either rejects "host:99999" with its own
    // diagnostic text or (some versions) takes it as a URL with no port.
    static const std::regex portRe(R"(^wss?://(\[[^\]]*\]|[^:/@]*)(:([^/@]*))?/)");
    std::smatch m;
    if (std::regex_search(url, m, portRe) && m[2].matched) {
        uint32_t port = 0;
        if (!parseNumber(m[3].str(), port) || port == 0 || port > 65535)
            return "bad --signal '" + url + "': the port must be a number from 1 to 65535";
    }
    QUrl parsed(QString::fromStdString(url), QUrl::StrictMode);
    if (!parsed.isValid() || parsed.host().isEmpty())
        return "bad --signal '" + url + "': " +
               (parsed.isValid() ? std::string("no host") : parsed.errorString().toStdString());
    return {};
}

void SignalingClient::open() {
    connectTimer_.start(kConnectTimeoutMs);
    socket_.open(url_);
}

void SignalingClient::scheduleReconnect(const std::string& why) {
    if (callbacks_.onReconnecting) callbacks_.onReconnecting(why);
    int delay = backoffMs_;
    backoffMs_ = std::min(backoffMs_ * 2, 5000);
    QTimer::singleShot(delay, this, [this] {
        if (closing_) return;
        socket_.abort();
        connectTimer_.start(kConnectTimeoutMs);
        socket_.open(url_);
    });
}

void SignalingClient::send(const nlohmann::json& message) {
    if (!isOpen() && reconnect_ && welcomed_ && !closing_) {
        if (pending_.size() < 256) pending_.push_back(message);
        return;
    }
    if (!isOpen()) {
        spdlog::warn("signaling: not connected, dropping a message");
        return;
    }
    socket_.sendTextMessage(QString::fromStdString(message.dump()));
}

void SignalingClient::close() {
    closing_ = true;
    if (isOpen()) {
        send({{"type", "bye"}});
        socket_.flush();
    }
    socket_.close();
}

void SignalingClient::onText(const QString& text) {
    const QByteArray utf8 = text.toUtf8();
    signal::Message msg = signal::decode(std::string_view(utf8.constData(), size_t(utf8.size())));
    // The server relays whatever the peer sends, server types included. Its own `welcome` is
    // the first frame on a socket and its `error`s come before that (room full, bad room):
    // after the welcome, those two are the peer's and must not end or reset our session.
    if (welcomedHere_ && std::holds_alternative<signal::Welcome>(msg))
        msg = signal::Malformed{"a second 'welcome' (relayed by the peer)"};
    if (welcomedHere_ && std::holds_alternative<signal::ServerError>(msg))
        msg = signal::Malformed{
            "an 'error' after the welcome (relayed by the peer, or the reply "
            "to a message of ours the server refused)"};
    if (const auto* welcome = std::get_if<signal::Welcome>(&msg)) {
        welcomed_ = welcomedHere_ = true;
        backoffMs_ = 500;
        auto pending = std::move(pending_);
        pending_.clear();
        for (const auto& m : pending) socket_.sendTextMessage(QString::fromStdString(m.dump()));
        if (callbacks_.onWelcome) callbacks_.onWelcome(welcome->peers);
    } else if (std::holds_alternative<signal::PeerJoined>(msg)) {
        if (callbacks_.onPeerJoined) callbacks_.onPeerJoined();
    } else if (std::holds_alternative<signal::PeerLeft>(msg)) {
        if (callbacks_.onPeerLeft) callbacks_.onPeerLeft();
    } else if (const auto* error = std::get_if<signal::ServerError>(&msg)) {
        closing_ = true;
        fail("signaling server: " + error->reason);
    } else if (callbacks_.onMessage) {
        callbacks_.onMessage(msg);
    }
}

}  // namespace tincan::session
