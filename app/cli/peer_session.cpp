#include "app/cli/peer_session.hpp"

#include <spdlog/spdlog.h>

#include "app/cli/events.hpp"

namespace tincan::cli {

PeerSession::PeerSession(QCoreApplication& app, const CommonOptions& options, Hooks hooks)
    : app_(app), options_(options), hooks_(std::move(hooks)) {}

PeerSession::~PeerSession() {
    if (pc_) pc_->close();
    pc_.reset();
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
    auto servers = iceServers(options_.servers);
    if (!servers) {
        printError(servers.message());
        exitCode_ = 2;
        return false;
    }
    Configuration config;
    config.iceServers = *servers;
    config.tlsCaFile = options_.servers.turnCaFile;
    config.iceTransportPolicy = options_.icePolicy == "relay" ? IceTransportPolicy::Relay : IceTransportPolicy::All;
    config.allowLoopback = options_.allowLoopback;
    config.interfaces = options_.interfaces;

    PeerConnectionCallbacks cb;
    cb.onLocalCandidate = [](const CandidateInfo& c) {
        Json ev = candidateJson(c);
        ev["event"] = "local-candidate";
        events().print(ev);
    };
    cb.onIceCandidate = [this](const std::optional<IceCandidate>& c) {
        if (c) {
            Json msg = {{"type", "candidate"},
                        {"candidate", {{"candidate", c->candidate}, {"sdpMid", c->sdpMid}, {"sdpMLineIndex", c->sdpMLineIndex}}}};
            onQt([this, msg] { sendSignal(msg); });
        } else {
            onQt([this] { sendSignal({{"type", "candidate"}, {"candidate", nullptr}}); });
        }
    };
    cb.onIceConnectionState = [](IceConnectionState s) {
        events().print({{"event", "ice-state"}, {"state", toString(s)}});
    };
    cb.onIceGatheringState = [](IceGatheringState g) {
        events().print({{"event", "gathering-state"}, {"state", toString(g)}});
    };
    cb.onSelectedPair = [](const CandidatePair& pair) { events().print(selectedPairJson(pair)); };
    cb.onDtlsState = [this](DtlsState s, const std::string& reason) {
        Json ev = {{"event", "dtls-state"}, {"state", toString(s)}};
        if (!reason.empty()) ev["reason"] = reason;
        events().print(ev);
        if (s == DtlsState::Failed) onQt([this, reason] { finish(1, "DTLS failed: " + reason); });
    };
    cb.onConnectionState = [this](PeerConnectionState s) {
        events().print({{"event", "connection-state"}, {"state", toString(s)}});
        if (s == PeerConnectionState::Connected && !everConnected_) {
            everConnected_ = true;
            if (hooks_.onConnected) hooks_.onConnected();
        }
        if (s == PeerConnectionState::Failed) {
            onQt([this] {
                auto stats = pc_->getStats();
                std::string why = "the connection failed";
                if (stats.transport && stats.transport->iceState == "failed") why = "ICE failed";
                finish(1, why);
            });
        }
    };
    cb.onDataChannel = [this](std::shared_ptr<DataChannel> ch) {
        events().print({{"event", "datachannel-open"}, {"label", ch->label()}, {"id", ch->id().value_or(0)}, {"remote", true}});
        if (hooks_.onDataChannel) hooks_.onDataChannel(std::move(ch));
    };
    auto created = PeerConnection::create(config, cb);
    if (!created) {
        printError(created.message());
        // A bad server entry is a usage error; anything else (no interface) a failure.
        exitCode_ = created.message().find("ICE server") != std::string::npos ? 2 : 1;
        return false;
    }
    pc_ = *created;

    SignalingClient::Callbacks scb;
    scb.onWelcome = [this](int peers) {
        events().print({{"event", "signaling"}, {"state", "joined"}, {"peers", peers}});
        if (joinedOnce_) return;  // back after a drop: the call goes on, nothing to negotiate
        joinedOnce_ = true;
        polite_ = peers == 0;  // SIGNALING.md: the first in the room is polite
        if (peers >= 1 && pc_->signalingState() == SignalingState::Stable && !pc_->remoteDescription())
            makeOffer();
    };
    scb.onPeerJoined = [] { events().print({{"event", "signaling"}, {"state", "peer-joined"}}); };
    scb.onPeerLeft = [this] {
        events().print({{"event", "signaling"}, {"state", "peer-left"}});
        // A peer whose signaling socket dropped may still be in the call: only a peer that
        // never connected, or whose connection is gone, has left for good.
        if (pc_->connectionState() != PeerConnectionState::Connected && hooks_.onRemoteHangup) hooks_.onRemoteHangup();
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
    if (!offer) return finish(1, "cannot create an offer: " + offer.message());
    if (auto ok = pc_->setLocalDescription(*offer); !ok) return finish(1, "cannot apply our offer: " + ok.message());
    sendSignal({{"type", "offer"}, {"sdp", offer->sdp}});
}

void PeerSession::sendSignal(const nlohmann::json& msg) {
    if (signaling_ && !finished_) signaling_->send(msg);
}

// What the other peer relays is untrusted input: a message of the wrong shape is ignored and
// counted, never fatal (../shared/SIGNALING.md; W3C allows null sdpMid/sdpMLineIndex).
void PeerSession::onSignal(const nlohmann::json& msg) {
    if (finished_) return;
    auto ignore = [this](const std::string& why) {
        ignoredSignals_++;
        spdlog::warn("signaling: ignored a message: {}", why);
    };
    if (!msg.is_object() || !msg.contains("type") || !msg["type"].is_string()) return ignore("no string 'type'");
    const std::string type = msg["type"].get<std::string>();
    if (type == "offer" || type == "answer") {
        if (!msg.contains("sdp") || !msg["sdp"].is_string()) return ignore("'" + type + "' without an sdp string");
        std::string sdp = msg["sdp"].get<std::string>();
        if (type == "offer") {
            bool glare = pc_->signalingState() != SignalingState::Stable;
            if (glare && !polite_) {
                spdlog::info("signaling: ignoring a colliding offer (impolite peer)");
                return;
            }
            if (auto ok = pc_->setRemoteDescription({SdpType::Offer, sdp}); !ok)
                return finish(1, "bad remote offer: " + ok.message());
            auto answer = pc_->createAnswer();
            if (!answer) return finish(1, "cannot answer: " + answer.message());
            if (auto ok = pc_->setLocalDescription(*answer); !ok)
                return finish(1, "cannot apply our answer: " + ok.message());
            sendSignal({{"type", "answer"}, {"sdp", answer->sdp}});
        } else if (pc_->signalingState() == SignalingState::HaveLocalOffer) {
            if (auto ok = pc_->setRemoteDescription({SdpType::Answer, sdp}); !ok)
                return finish(1, "bad remote answer: " + ok.message());
        }
    } else if (type == "candidate") {
        const auto c = msg.contains("candidate") ? msg["candidate"] : nlohmann::json();
        if (!c.is_null() && !c.is_object()) return ignore("'candidate' is neither an object nor null");
        std::optional<IceCandidate> init;
        if (c.is_object()) {
            if (!c.contains("candidate") || !c["candidate"].is_string()) return ignore("candidate without a string");
            IceCandidate ic;
            ic.candidate = c["candidate"].get<std::string>();
            if (c.contains("sdpMid") && c["sdpMid"].is_string()) ic.sdpMid = c["sdpMid"].get<std::string>();
            if (c.contains("sdpMLineIndex") && c["sdpMLineIndex"].is_number_integer())
                ic.sdpMLineIndex = c["sdpMLineIndex"].get<int>();
            if (!ic.candidate.empty()) {
                auto parsed = parseCandidate(ic.candidate);
                if (!parsed) return ignore(parsed.message());
                Json ev = candidateJson(*parsed);
                ev["event"] = "remote-candidate";
                events().print(ev);
                init = std::move(ic);
            }
        }
        if (auto ok = pc_->addIceCandidate(init); !ok) spdlog::warn("ignoring a remote candidate: {}", ok.message());
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
        auto report = nlohmann::json::parse(toJson(pc_->getStats()));
        report.push_back({{"id", "S"}, {"type", "signaling"}, {"messagesIgnored", ignoredSignals_}});
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
