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
    if (auto bad = session::SignalingClient::validateUrl(options_.signal); !bad.empty()) {
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
    config.iceTransportPolicy =
        options_.icePolicy == "relay" ? IceTransportPolicy::Relay : IceTransportPolicy::All;
    config.allowLoopback = options_.allowLoopback;
    config.interfaces = options_.interfaces;
    config.dataChannelSackEvery = options_.sackEvery;

    PeerConnectionCallbacks cb;
    cb.onLocalCandidate = [](const CandidateInfo& c) {
        Json ev = candidateJson(c);
        ev["event"] = "local-candidate";
        events().print(ev);
    };
    cb.onIceCandidate = [this](const std::optional<IceCandidate>& c) {
        if (c) {
            onQt([this, c] { negotiator_->sendLocalCandidate(c); });
        } else {
            onQt([this] { negotiator_->sendLocalCandidate(std::nullopt); });
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
        events().print({{"event", "datachannel-open"},
                        {"label", ch->label()},
                        {"id", ch->id().value_or(0)},
                        {"remote", true}});
        if (hooks_.onDataChannel) hooks_.onDataChannel(std::move(ch));
    };
    cb.onTrack = [this](std::shared_ptr<Track> track) {
        if (hooks_.onTrack) hooks_.onTrack(std::move(track));
    };
    auto created = PeerConnection::create(config, cb);
    if (!created) {
        printError(created.message());
        // A bad server entry is a usage error; anything else (no interface) a failure.
        exitCode_ = created.message().find("ICE server") != std::string::npos ? 2 : 1;
        return false;
    }
    pc_ = *created;
    if (hooks_.beforeNegotiation && !hooks_.beforeNegotiation(*pc_)) {
        exitCode_ = 1;
        pc_->close();
        pc_.reset();
        return false;
    }

    session::Negotiator::Hooks hooks;
    hooks.onJoined = [](int peers) {
        events().print({{"event", "signaling"}, {"state", "joined"}, {"peers", peers}});
    };
    hooks.onPeerJoined = [] { events().print({{"event", "signaling"}, {"state", "peer-joined"}}); };
    hooks.onPeerLeft = [] { events().print({{"event", "signaling"}, {"state", "peer-left"}}); };
    hooks.onRemoteHangup = [this] {
        if (hooks_.onRemoteHangup) hooks_.onRemoteHangup();
    };
    hooks.onRemoteCandidate = [](const CandidateInfo& c) {
        Json ev = candidateJson(c);
        ev["event"] = "remote-candidate";
        events().print(ev);
    };
    hooks.onReconnecting = [](const std::string& why) {
        // The call does not depend on the signaling socket: keep it, and rejoin the room.
        events().print({{"event", "signaling"}, {"state", "reconnecting"}, {"reason", why}});
    };
    hooks.onError = [this](const std::string& e) {
        if (!finished_) finish(1, e);
    };
    negotiator_ = std::make_unique<session::Negotiator>(
        QUrl(QString::fromStdString(options_.signal)), pc_, hooks);
    negotiator_->start();

    if (options_.durationSeconds) {
        deadline_.setSingleShot(true);
        QObject::connect(&deadline_, &QTimer::timeout, [this] {
            if (finished_) return;
            if (hooks_.onDeadline) {
                hooks_.onDeadline();
            } else {
                finish(-1);
            }
        });
        deadline_.start(int(*options_.durationSeconds * 1000));
    }
    return true;
}

void PeerSession::finish(int code, const std::string& error) {
    if (finished_) return;
    finished_ = true;
    if (code == -1) {
        code = 1;
        printError("gave up after " + std::to_string(int(*options_.durationSeconds)) +
                   " s (--duration)");
    }
    exitCode_ = code;
    if (!error.empty()) printError(error);
    if (pc_) {
        auto report = nlohmann::json::parse(toJson(pc_->getStats()));
        report.push_back({{"id", "S"},
                          {"type", "signaling"},
                          {"messagesIgnored", negotiator_ ? negotiator_->ignoredSignals() : 0}});
        if (hooks_.addStats) hooks_.addStats(report);
        events().print({{"event", "stats"}, {"report", report}});
        if (!options_.statsJson.empty() && !writeStatsFile(options_.statsJson, report.dump(2)) &&
            code == 0)
            exitCode_ = 1;
    }
    if (negotiator_) negotiator_->hangup();
    if (pc_) pc_->close();
    QTimer::singleShot(150, &app_, [this] { app_.exit(exitCode_); });
}

int PeerSession::exec() {
    if (exitCode_ != 0 && !pc_) return exitCode_;
    return app_.exec();
}

}  // namespace tincan::cli
