#include "app/cli/peer_session.hpp"

#include <spdlog/spdlog.h>

#include "app/cli/events.hpp"

namespace tincan::cli {

PeerSession::PeerSession(QCoreApplication& app, const CommonOptions& options, Hooks hooks)
    : app_(app), options_(options), hooks_(std::move(hooks)) {}

PeerSession::~PeerSession() {
    if (pc_) pc_->close();
    pc_.reset();
    runtime_.stop();
}

void PeerSession::onQt(std::function<void()> fn) {
    QMetaObject::invokeMethod(&qtContext_, std::move(fn), Qt::QueuedConnection);
}

bool PeerSession::start() {
    if (options_.signal.empty()) {
        printError("this command needs --signal ws://HOST:PORT/ROOM");
        exitCode_ = 2;
        return false;
    }
    if (auto bad = SignalingClient::validateUrl(options_.signal); !bad.empty()) {
        printError(bad);
        exitCode_ = 2;
        return false;
    }
    pc::Configuration config;
    ice::AgentConfig agentConfig;
    if (auto err = configureServers(options_.servers, agentConfig, runtime_)) {
        printError(*err);
        exitCode_ = 2;
        return false;
    }
    config.stunServers = agentConfig.stunServers;
    config.turnServers = agentConfig.turnServers;
    config.policy = options_.icePolicy == "relay" ? ice::TransportPolicy::Relay : ice::TransportPolicy::All;
    config.hostPolicy.includeLoopback = options_.allowLoopback;
    config.hostPolicy.onlyInterfaces = options_.interfaces;
    runtime_.start();

    pc::PeerConnectionCallbacks cb;
    cb.onLocalCandidate = [](const ice::Candidate& c) {
        Json ev = candidateJson(c);
        ev["event"] = "local-candidate";
        events().print(ev);
    };
    cb.onIceCandidate = [this](std::optional<pc::IceCandidateInit> c) {
        if (c) {
            Json msg = {{"type", "candidate"},
                        {"candidate", {{"candidate", c->candidate}, {"sdpMid", c->sdpMid}, {"sdpMLineIndex", c->sdpMLineIndex}}}};
            onQt([this, msg] { sendSignal(msg); });
        } else {
            onQt([this] { sendSignal({{"type", "candidate"}, {"candidate", nullptr}}); });
        }
    };
    cb.onIceConnectionState = [](ice::IceState s) {
        events().print({{"event", "ice-state"}, {"state", ice::toString(s)}});
    };
    cb.onIceGatheringState = [](ice::GatheringState g) {
        events().print({{"event", "gathering-state"}, {"state", ice::toString(g)}});
    };
    cb.onSelectedPair = [](const ice::CandidatePairInfo& pair) { events().print(selectedPairJson(pair)); };
    cb.onDtlsState = [this](dtls::State s, const std::string& reason) {
        Json ev = {{"event", "dtls-state"}, {"state", dtls::toString(s)}};
        if (!reason.empty()) ev["reason"] = reason;
        events().print(ev);
        if (s == dtls::State::Failed) onQt([this, reason] { finish(1, "DTLS failed: " + reason); });
    };
    cb.onConnectionState = [this](pc::ConnectionState s) {
        events().print({{"event", "connection-state"}, {"state", pc::toString(s)}});
        if (s == pc::ConnectionState::Connected && !everConnected_) {
            everConnected_ = true;
            if (hooks_.onConnected) hooks_.onConnected();
        }
        if (s == pc::ConnectionState::Failed) {
            onQt([this] {
                auto stats = pc_->getStats();
                std::string why = "the connection failed";
                for (const auto& e : stats)
                    if (e.value("type", "") == "transport" && e.value("iceState", "") == "failed") why = "ICE failed";
                finish(1, why);
            });
        }
    };
    cb.onDataChannel = [this](std::shared_ptr<pc::DataChannel> ch) {
        events().print({{"event", "datachannel-open"}, {"label", ch->label()}, {"id", ch->id().value_or(0)}, {"remote", true}});
        if (hooks_.onDataChannel) hooks_.onDataChannel(std::move(ch));
    };
    std::string err;
    pc_ = pc::PeerConnection::create(runtime_, config, cb, &err);
    if (!pc_) {
        printError("cannot start: " + err);
        exitCode_ = 1;
        return false;
    }

    SignalingClient::Callbacks scb;
    scb.onWelcome = [this](int peers) {
        events().print({{"event", "signaling"}, {"state", "joined"}, {"peers", peers}});
        if (joinedOnce_) return;  // back after a drop: the call goes on, nothing to negotiate
        joinedOnce_ = true;
        polite_ = peers == 0;  // SIGNALING.md: the first in the room is polite
        if (peers >= 1 && pc_->signalingState() == pc::SignalingState::Stable && !pc_->remoteDescription())
            makeOffer();
    };
    scb.onPeerJoined = [] { events().print({{"event", "signaling"}, {"state", "peer-joined"}}); };
    scb.onPeerLeft = [this] {
        events().print({{"event", "signaling"}, {"state", "peer-left"}});
        // A peer whose signaling socket dropped may still be in the call: only a peer that
        // never connected, or whose connection is gone, has left for good.
        if (pc_->connectionState() != pc::ConnectionState::Connected && hooks_.onRemoteHangup) hooks_.onRemoteHangup();
    };
    scb.onMessage = [this](const nlohmann::json& msg) { onSignal(msg); };
    scb.onError = [this](const std::string& e) {
        if (!finished_) finish(1, e);
    };
    scb.onReconnecting = [](const std::string& why) {
        // The call does not depend on the signaling socket: keep it, and rejoin the room.
        events().print({{"event", "signaling"}, {"state", "reconnecting"}, {"reason", why}});
    };
    signaling_ = std::make_unique<SignalingClient>(QUrl(QString::fromStdString(options_.signal)), scb);
    signaling_->setReconnect(true);
    signaling_->open();

    if (options_.durationSeconds) {
        deadline_.setSingleShot(true);
        QObject::connect(&deadline_, &QTimer::timeout, [this] { finish(-1); });
        deadline_.start(int(*options_.durationSeconds * 1000));
    }
    return true;
}

void PeerSession::makeOffer() {
    auto offer = pc_->createOffer();
    if (auto* e = std::get_if<std::string>(&offer)) return finish(1, "cannot create an offer: " + *e);
    auto& d = std::get<pc::SessionDescriptionInit>(offer);
    if (auto e = pc_->setLocalDescription(d)) return finish(1, "cannot apply our offer: " + *e);
    sendSignal({{"type", "offer"}, {"sdp", d.sdp}});
}

void PeerSession::sendSignal(const nlohmann::json& msg) {
    if (signaling_ && !finished_) signaling_->send(msg);
}

void PeerSession::onSignal(const nlohmann::json& msg) {
    if (finished_) return;
    std::string type = msg["type"];
    if (type == "offer" || type == "answer") {
        if (!msg.contains("sdp") || !msg["sdp"].is_string()) {
            spdlog::warn("signaling: '{}' without an sdp string ignored", type);
            return;
        }
        std::string sdp = msg["sdp"];
        if (type == "offer") {
            bool glare = pc_->signalingState() != pc::SignalingState::Stable;
            if (glare && !polite_) {
                spdlog::info("signaling: ignoring a colliding offer (impolite peer)");
                return;
            }
            if (auto e = pc_->setRemoteDescription({"offer", sdp})) return finish(1, "bad remote offer: " + *e);
            auto answer = pc_->createAnswer();
            if (auto* e = std::get_if<std::string>(&answer)) return finish(1, "cannot answer: " + *e);
            auto& d = std::get<pc::SessionDescriptionInit>(answer);
            if (auto e = pc_->setLocalDescription(d)) return finish(1, "cannot apply our answer: " + *e);
            sendSignal({{"type", "answer"}, {"sdp", d.sdp}});
        } else if (pc_->signalingState() == pc::SignalingState::HaveLocalOffer) {
            if (auto e = pc_->setRemoteDescription({"answer", sdp})) return finish(1, "bad remote answer: " + *e);
        }
    } else if (type == "candidate") {
        const auto& c = msg.contains("candidate") ? msg["candidate"] : nlohmann::json();
        std::optional<pc::IceCandidateInit> init;
        if (c.is_object() && c.contains("candidate") && c["candidate"].is_string() && !c["candidate"].get<std::string>().empty()) {
            init = pc::IceCandidateInit{c["candidate"], c.value("sdpMid", std::string("0")), c.value("sdpMLineIndex", 0)};
            if (auto parsed = ice::parseCandidate(init->candidate); auto* cand = std::get_if<ice::Candidate>(&parsed)) {
                Json ev = candidateJson(*cand);
                ev["event"] = "remote-candidate";
                events().print(ev);
            }
        }
        if (auto e = pc_->addIceCandidate(init)) spdlog::warn("ignoring a remote candidate: {}", *e);
    } else if (type == "bye") {
        if (hooks_.onRemoteHangup) hooks_.onRemoteHangup();
    }
    // Unknown types are ignored (forward compatibility).
}

void PeerSession::finish(int code, const std::string& error) {
    if (finished_) return;
    finished_ = true;
    if (code == -1) {
        code = 1;
        printError("gave up after " + std::to_string(int(*options_.durationSeconds)) + " s (--duration)");
    }
    exitCode_ = code;
    if (!error.empty()) printError(error);
    if (pc_) {
        auto report = pc_->getStats();
        events().print({{"event", "stats"}, {"report", report}});
        if (!options_.statsJson.empty() && !writeStatsFile(options_.statsJson, report.dump(2)) && code == 0) exitCode_ = 1;
    }
    if (signaling_) signaling_->close();
    if (pc_) pc_->close();
    QTimer::singleShot(150, &app_, [this] { app_.exit(exitCode_); });
}

int PeerSession::exec() {
    if (exitCode_ != 0 && !pc_) return exitCode_;
    return app_.exec();
}

}  // namespace tincan::cli
