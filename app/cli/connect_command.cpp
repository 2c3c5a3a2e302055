// `tincan-cli connect`: two peers meet in a signaling room, exchange ICE credentials and
// candidates, connect, and prove the selected pair carries data both ways. ICE only: this is
// the connectivity check behind every other command, and what the NAT tests drive.
#include <QCoreApplication>
#include <QTimer>

#include <atomic>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "app/cli/commands.hpp"
#include "app/cli/events.hpp"
#include "session/signaling_client.hpp"
#include "tincan/ice_transport.hpp"

namespace tincan::cli {

using session::SignalingClient;

namespace {

// The smallest session description that carries what ICE needs; the data-channel m-line
// keeps it a valid WebRTC offer. Candidates trickle separately.
std::string iceOnlySdp(const IceCredentials& creds) {
    std::ostringstream s;
    s << "v=0\r\no=- " << std::hash<std::string>{}(creds.ufrag) % 1000000000
      << " 2 IN IP4 127.0.0.1\r\n"
      << "s=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
      << "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
      << "a=ice-ufrag:" << creds.ufrag << "\r\na=ice-pwd:" << creds.pwd << "\r\n"
      << "a=ice-options:trickle\r\na=mid:0\r\n";
    return s.str();
}

struct RemoteDescription {
    IceCredentials creds;
    std::vector<std::string> candidates;
    bool endOfCandidates = false;
};

std::optional<RemoteDescription> parseRemote(const std::string& sdp, std::string& error) {
    RemoteDescription r;
    std::istringstream in(sdp);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.rfind("a=ice-ufrag:", 0) == 0 && r.creds.ufrag.empty())
            r.creds.ufrag = line.substr(12);
        else if (line.rfind("a=ice-pwd:", 0) == 0 && r.creds.pwd.empty())
            r.creds.pwd = line.substr(10);
        else if (line.rfind("a=candidate:", 0) == 0)
            r.candidates.push_back(line.substr(2));
        else if (line == "a=end-of-candidates")
            r.endOfCandidates = true;
    }
    if (r.creds.ufrag.empty() || r.creds.pwd.empty()) {
        error = "remote description has no a=ice-ufrag/a=ice-pwd";
        return std::nullopt;
    }
    return r;
}

const char* kPing = "tincan-ping";
const char* kPong = "tincan-pong";

}  // namespace

int runConnect(int argc, char** argv, const CommonOptions& common) {
    if (common.signal.empty()) {
        printError("connect needs --signal ws://HOST:PORT/ROOM");
        return 2;
    }
    if (auto bad = SignalingClient::validateUrl(common.signal); !bad.empty()) {
        printError(bad);
        return 2;
    }
    QCoreApplication app(argc, argv);
    auto servers = iceServers(common.servers);
    if (!servers) {
        printError(servers.message());
        return 2;
    }
    IceTransportConfig config;
    config.iceServers = *servers;
    config.tlsCaFile = common.servers.turnCaFile;
    config.iceTransportPolicy =
        common.icePolicy == "relay" ? IceTransportPolicy::Relay : IceTransportPolicy::All;
    config.allowLoopback = common.allowLoopback;
    config.interfaces = common.interfaces;

    std::unique_ptr<IceTransport> transport;
    std::unique_ptr<SignalingClient> signaling;
    bool descriptionSent = false, haveRemote = false, finished = false;
    std::vector<nlohmann::json> outbox;  // our candidates, held until our description is out
    std::atomic<bool> gotPing{false}, gotPong{false};
    std::atomic<uint64_t> pongRttUs{0};
    int exitCode = 0;
    QObject qtContext;

    auto finish = [&](int code, const std::string& error) {
        if (finished) return;
        finished = true;
        exitCode = code;
        if (!error.empty()) printError(error);
        if (transport) {
            Json report = Json::parse(toJson(transport->getStats()));
            events().print({{"event", "stats"}, {"report", report}});
            if (!common.statsJson.empty() && !writeStatsFile(common.statsJson, report.dump(2)) &&
                code == 0)
                exitCode = 1;
            transport->close();
        }
        if (signaling) signaling->close();
        // Let the TURN deallocation and the bye go out.
        QTimer::singleShot(150, &app, [&] { app.exit(exitCode); });
    };
    // From the network thread to the Qt thread.
    auto onQt = [&](std::function<void()> fn) {
        QMetaObject::invokeMethod(&qtContext, std::move(fn), Qt::QueuedConnection);
    };

    auto sendSignal = [&](nlohmann::json msg) {
        if (!descriptionSent)
            outbox.push_back(std::move(msg));
        else
            signaling->send(msg);
    };

    auto createTransport = [&](bool controlling) {
        config.controlling = controlling;
        IceTransportCallbacks cb;
        cb.onLocalCandidate = [&](const CandidateInfo& c) {
            Json ev = candidateJson(c);
            ev["event"] = "local-candidate";
            events().print(ev);
            std::string line = c.sdp;
            onQt([&, line] {
                sendSignal(
                    {{"type", "candidate"},
                     {"candidate", {{"candidate", line}, {"sdpMid", "0"}, {"sdpMLineIndex", 0}}}});
            });
        };
        cb.onGatheringState = [&](IceGatheringState g) {
            events().print({{"event", "gathering-state"}, {"state", toString(g)}});
            if (g == IceGatheringState::Complete)
                onQt([&] { sendSignal({{"type", "candidate"}, {"candidate", nullptr}}); });
        };
        cb.onState = [&](IceConnectionState s) {
            events().print({{"event", "ice-state"}, {"state", toString(s)}});
            if (s == IceConnectionState::Failed) {
                onQt([&] { finish(1, "ICE failed: " + transport->failureReason()); });
            }
        };
        cb.onSelectedPair = [&](const CandidatePair& pair) {
            events().print(selectedPairJson(pair));
        };
        cb.onData = [&](ByteView data) {
            std::string_view text = asString(data);
            if (text.starts_with(kPing)) {
                gotPing = true;
                std::string reply =
                    std::string(kPong) + std::string(text.substr(std::string_view(kPing).size()));
                transport->send(asBytes(reply));  // on the loop thread: sent at once
            } else if (text.starts_with(kPong) && !gotPong.exchange(true)) {
                // "tincan-pong <seq> <send time in µs>": the pong echoes the ping's clock.
                auto sp = text.rfind(' ');
                uint64_t sentUs = 0;
                if (sp != std::string_view::npos)
                    sentUs = std::strtoull(std::string(text.substr(sp + 1)).c_str(), nullptr, 10);
                uint64_t nowUs = uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(
                                              std::chrono::steady_clock::now().time_since_epoch())
                                              .count());
                pongRttUs = nowUs >= sentUs ? nowUs - sentUs : 0;
            }
        };
        auto created = IceTransport::create(config, std::move(cb));
        if (!created) {
            finish(1, created.message());
            return false;
        }
        transport = std::move(*created);
        return true;
    };

    auto applyRemote = [&](const std::string& sdp) {
        std::string err;
        auto remote = parseRemote(sdp, err);
        if (!remote) {
            finish(1, err);
            return false;
        }
        transport->setRemoteCredentials(remote->creds);
        for (const auto& c : remote->candidates) {
            if (auto ok = transport->addRemoteCandidate(c); !ok)
                spdlog::warn("ignoring remote candidate: {}", ok.message());
        }
        if (remote->endOfCandidates) transport->endOfRemoteCandidates();
        haveRemote = true;
        return true;
    };

    auto flushOutbox = [&] {
        descriptionSent = true;
        for (auto& m : outbox) signaling->send(m);
        outbox.clear();
    };

    SignalingClient::Callbacks scb;
    scb.onWelcome = [&](int peers) {
        events().print({{"event", "signaling"}, {"state", "joined"}, {"peers", peers}});
        bool offerer = peers >= 1;  // SIGNALING.md: the newcomer offers
        if (!createTransport(offerer)) return;
        if (offerer) {
            signaling->send(
                {{"type", "offer"}, {"sdp", iceOnlySdp(transport->localCredentials())}});
            flushOutbox();
        }
    };
    scb.onPeerJoined = [&] { events().print({{"event", "signaling"}, {"state", "peer-joined"}}); };
    scb.onPeerLeft = [&] {
        events().print({{"event", "signaling"}, {"state", "peer-left"}});
        if (!finished && !(gotPing && gotPong))
            finish(1, "the peer left before the connection was proven");
    };
    scb.onMessage = [&](const session::signal::Message& msg) {
        namespace sig = session::signal;
        if (const auto* bad = std::get_if<sig::Malformed>(&msg)) {
            spdlog::warn("signaling: ignored a message: {}", bad->why);
            return;
        }
        if (!transport) return;
        if (const auto* d = std::get_if<sig::Description>(&msg)) {
            if (!applyRemote(d->sdp)) return;
            if (d->type == SdpType::Offer) {
                signaling->send(
                    {{"type", "answer"}, {"sdp", iceOnlySdp(transport->localCredentials())}});
                flushOutbox();
            }
        } else if (const auto* c = std::get_if<sig::Candidate>(&msg)) {
            if (!c->candidate) {  // null, or an empty string (the browser's end-of-candidates)
                transport->endOfRemoteCandidates();
                return;
            }
            const std::string& line = c->candidate->candidate;
            if (auto parsed = parseCandidate(line)) {
                Json ev = candidateJson(*parsed);
                ev["event"] = "remote-candidate";
                events().print(ev);
            }
            if (auto ok = transport->addRemoteCandidate(line); !ok)
                spdlog::warn("ignoring remote candidate: {}", ok.message());
        } else if (std::holds_alternative<sig::Bye>(msg)) {
            if (!finished && !(gotPing && gotPong))
                finish(1, "the peer hung up before the connection was proven");
        }
    };
    scb.onError = [&](const std::string& e) { finish(1, e); };
    signaling = std::make_unique<SignalingClient>(QUrl(QString::fromStdString(common.signal)), scb);
    signaling->open();

    // Probe the selected pair until both directions have worked, then linger a second so the
    // peer gets its answers too.
    QTimer ping;
    uint64_t seq = 0;
    bool proven = false;
    QObject::connect(&ping, &QTimer::timeout, [&] {
        if (finished || !transport) return;
        if (gotPing && gotPong && !proven) {
            proven = true;
            auto pair = transport->selectedPair();
            Json ev = {{"event", "connected"}, {"rtt_ms", double(pongRttUs.load()) / 1000.0}};
            if (pair) ev["path"] = toString(pair->path);
            events().print(ev);
            QTimer::singleShot(1000, &app, [&] { finish(0, ""); });
        }
        if (!gotPong) {
            auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
            std::string p =
                std::string(kPing) + " " + std::to_string(++seq) + " " + std::to_string(us);
            transport->send(asBytes(p));
        }
    });
    ping.start(20);

    QTimer deadline;
    if (common.durationSeconds) {
        deadline.setSingleShot(true);
        QObject::connect(&deadline, &QTimer::timeout, [&] {
            finish(1, "gave up after " + std::to_string(int(*common.durationSeconds)) +
                          " s (--duration)");
        });
        deadline.start(int(*common.durationSeconds * 1000));
    }

    int code = app.exec();
    ping.stop();
    transport.reset();
    return code;
}

}  // namespace tincan::cli
