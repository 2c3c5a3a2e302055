#include "app/cli/signaling_client.hpp"

#include <regex>

#include <spdlog/spdlog.h>

namespace tincan::cli {

SignalingClient::SignalingClient(QUrl url, Callbacks callbacks, QObject* parent)
    : QObject(parent), url_(std::move(url)), callbacks_(std::move(callbacks)) {
    connect(&socket_, &QWebSocket::textMessageReceived, this, &SignalingClient::onText);
    connect(&socket_, &QWebSocket::disconnected, this, [this] {
        if (closing_) return;
        std::string why = socket_.errorString().toStdString();
        if (reconnect_ && welcomed_) {
            scheduleReconnect(why.empty() ? "signaling connection lost" : why);
            return;
        }
        if (callbacks_.onError)
            callbacks_.onError(welcomed_ ? "signaling connection lost" + (why.empty() ? "" : ": " + why)
                                         : "cannot reach signaling server " + url_.toString().toStdString() +
                                               (why.empty() ? "" : ": " + why));
    });
}

std::string SignalingClient::validateUrl(const std::string& url) {
    static const std::regex re(R"(^wss?://[^/\s]+/([A-Za-z0-9_-]{1,64})$)");
    if (!std::regex_match(url, re))
        return "bad --signal '" + url + "': expected ws://HOST:PORT/ROOM with a room of 1-64 characters [A-Za-z0-9_-]";
    return {};
}

void SignalingClient::open() { socket_.open(url_); }

void SignalingClient::scheduleReconnect(const std::string& why) {
    if (callbacks_.onReconnecting) callbacks_.onReconnecting(why);
    int delay = backoffMs_;
    backoffMs_ = std::min(backoffMs_ * 2, 5000);
    QTimer::singleShot(delay, this, [this] {
        if (closing_) return;
        socket_.abort();
        socket_.open(url_);
    });
}

void SignalingClient::send(const nlohmann::json& message) {
    if (!isOpen() && reconnect_ && welcomed_ && !closing_) {
        if (pending_.size() < 256) pending_.push_back(message);
        return;
    }
    if (!isOpen()) {
        spdlog::warn("signaling: not connected, dropping a '{}' message", message.value("type", "?"));
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
    nlohmann::json msg = nlohmann::json::parse(text.toStdString(), nullptr, false);
    if (msg.is_discarded() || !msg.is_object() || !msg.contains("type") || !msg["type"].is_string()) {
        spdlog::warn("signaling: ignoring a malformed message");
        return;
    }
    std::string type = msg["type"];
    if (type == "welcome") {
        welcomed_ = true;
        backoffMs_ = 500;
        int peers = msg.value("peers", 0);
        auto pending = std::move(pending_);
        pending_.clear();
        for (const auto& m : pending) socket_.sendTextMessage(QString::fromStdString(m.dump()));
        if (callbacks_.onWelcome) callbacks_.onWelcome(peers);
    } else if (type == "peer-joined") {
        if (callbacks_.onPeerJoined) callbacks_.onPeerJoined();
    } else if (type == "peer-left") {
        if (callbacks_.onPeerLeft) callbacks_.onPeerLeft();
    } else if (type == "error") {
        closing_ = true;
        if (callbacks_.onError) callbacks_.onError("signaling server: " + msg.value("reason", std::string("error")));
    } else if (callbacks_.onMessage) {
        callbacks_.onMessage(msg);
    }
}

}  // namespace tincan::cli
