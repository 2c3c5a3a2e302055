// tincan-rtp-reflector: a Tincan peer for the interop tests that needs no codec. It joins a
// signaling room (SIGNALING.md: the newcomer offers), negotiates one audio and one video
// track (sendrecv), and sends back on them the RTP payloads the remote sends it, one
// OutgoingFrame per RTP timestamp. A browser then decodes its own camera and microphone after
// a round trip through Tincan's JSEP (codec choice out of the browser's list), BUNDLE, SRTP,
// RTP/RTCP, NACK/RTX and PLI relaying: the transport is tested before the media pipeline.
// Test tool only (tests/interop), never installed.
//
//   tincan-rtp-reflector --signal ws://127.0.0.1:PORT/ROOM --duration S [--stats-json FILE]
//
// Prints JSON lines like tincan-cli (signaling, ice-state, connection-state, track, stats
// every second) and at the end writes getStats() (W3C objects) to --stats-json. Exits 0
// --duration seconds after connecting or when the remote hangs up; 1 on a failure (one line
// on stderr, e.g. not connected within --duration + 60 s); 2 on a usage error.
#include <QCoreApplication>
#include <QTimer>
#include <QUrl>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "session/negotiator.hpp"
#include "tincan/peer_connection.hpp"
#include "tincan/stats.hpp"
#include "tincan/track.hpp"

namespace {

using Json = nlohmann::json;

std::mutex printMutex;

void print(const Json& ev) {
    std::lock_guard lock(printMutex);
    std::fputs((ev.dump() + "\n").c_str(), stdout);
    std::fflush(stdout);
}

// Gathers one remote frame's payloads (same RTP timestamp) and sends them on `out` once the
// frame ends: the marker bit (video, RFC 7741 §4.1) or every packet (audio, one Opus frame a
// packet). Runs on the connection's network thread, one packet at a time.
class Reflector {
public:
    explicit Reflector(std::shared_ptr<tincan::Track> track) : track_(std::move(track)) {}

    void onPacket(const tincan::RtpPacketIn& p) {
        ++packetsIn_;
        // A retransmission that comes after its frame was sent is late: the frame went without it.
        if (p.retransmitted && sent_.count(p.rtpTimestamp)) return;
        if (!frame_.empty() && p.rtpTimestamp != timestamp_) flush();
        timestamp_ = p.rtpTimestamp;
        frame_[p.sequenceNumber] = tincan::RtpPayload{
            p.rtpTimestamp, p.marker, tincan::Bytes(p.payload.begin(), p.payload.end())};
        if (p.marker || track_->kind() == tincan::MediaKind::Audio) flush();
    }

    tincan::MediaKind kind() const { return track_->kind(); }
    uint64_t framesOut() const { return framesOut_; }
    uint64_t packetsIn() const { return packetsIn_; }

private:
    void flush() {
        if (frame_.empty()) return;
        tincan::OutgoingFrame f;
        f.captureTime = std::chrono::steady_clock::now();
        // Sequence order; a wrap inside one frame puts the low numbers first, so undo that.
        std::vector<std::pair<uint16_t, tincan::RtpPayload>> packets(frame_.begin(), frame_.end());
        if (packets.back().first - packets.front().first > 0x8000) {
            std::rotate(packets.begin(),
                        std::find_if(packets.begin(), packets.end(),
                                     [](const auto& x) { return x.first >= 0x8000; }),
                        packets.end());
        }
        for (auto& [seq, payload] : packets) f.packets.push_back(std::move(payload));
        frame_.clear();
        sent_[timestamp_] = true;
        if (sent_.size() > 64) sent_.erase(sent_.begin());
        if (track_->sendFrame(std::move(f))) ++framesOut_;
    }

    std::shared_ptr<tincan::Track> track_;
    std::map<uint16_t, tincan::RtpPayload> frame_;
    std::map<uint32_t, bool> sent_;  // recent timestamps already sent
    uint32_t timestamp_ = 0;
    std::atomic<uint64_t> framesOut_{0}, packetsIn_{0};
};

}  // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    std::string signal, statsJson;
    double durationS = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--signal") {
            signal = v;
        } else if (k == "--duration") {
            durationS = std::atof(v.c_str());
        } else if (k == "--stats-json") {
            statsJson = v;
        } else {
            std::fprintf(stderr, "tincan-rtp-reflector: unknown option %s\n", k.c_str());
            return 2;
        }
    }
    if (signal.empty() || durationS <= 0) {
        std::fprintf(stderr,
                     "usage: tincan-rtp-reflector --signal ws://HOST:PORT/ROOM --duration S "
                     "[--stats-json FILE]\n");
        return 2;
    }

    QObject qt;  // callbacks hop to the Qt thread through it
    auto onQt = [&qt](std::function<void()> fn) {
        QMetaObject::invokeMethod(&qt, std::move(fn), Qt::QueuedConnection);
    };
    std::unique_ptr<tincan::session::Negotiator> negotiator;
    std::shared_ptr<tincan::PeerConnection> pc;
    std::mutex reflectorsMutex;
    std::vector<std::shared_ptr<Reflector>> reflectors;
    int exitCode = 0;
    bool finished = false;
    QTimer callTimer;
    callTimer.setSingleShot(true);

    auto finish = [&](int code, const std::string& error) {
        if (finished) return;
        finished = true;
        exitCode = code;
        if (!error.empty()) std::fprintf(stderr, "tincan-rtp-reflector: %s\n", error.c_str());
        if (pc && !statsJson.empty()) {
            std::ofstream(statsJson) << tincan::toJson(pc->getStats(), 2) << "\n";
        }
        if (negotiator) negotiator->hangup();
        if (pc) pc->close();
        QTimer::singleShot(150, &app, [&] { app.exit(exitCode); });
    };

    auto reflect = [&](const std::shared_ptr<tincan::Track>& track) {
        auto r = std::make_shared<Reflector>(track);
        {
            std::lock_guard lock(reflectorsMutex);
            reflectors.push_back(r);
        }
        std::weak_ptr<tincan::Track> weak = track;
        tincan::Track::Callbacks cb;
        cb.onNegotiated = [weak](const tincan::RtpCodec& c) {
            auto t = weak.lock();
            print({{"event", "track"},
                   {"kind", t ? tincan::toString(t->kind()) : "?"},
                   {"codec", c.name},
                   {"payloadType", c.payloadType},
                   {"mid", t ? t->mid() : ""}});
        };
        cb.onPacket = [r](const tincan::RtpPacketIn& p) { r->onPacket(p); };
        // The browser's decoder asks us for a keyframe: only the browser's encoder can make one.
        cb.onKeyframeRequest = [weak] {
            if (auto t = weak.lock()) t->requestKeyframe();
        };
        track->setCallbacks(cb);
    };

    tincan::PeerConnectionCallbacks cb;
    cb.onIceCandidate = [&](const std::optional<tincan::IceCandidate>& c) {
        onQt([&, c] {
            if (negotiator) negotiator->sendLocalCandidate(c);
        });
    };
    cb.onConnectionState = [&](tincan::PeerConnectionState s) {
        print({{"event", "connection-state"}, {"state", tincan::toString(s)}});
        // --duration counts from the first 'connected' (a browser takes seconds to start).
        if (s == tincan::PeerConnectionState::Connected)
            onQt([&] {
                if (!callTimer.isActive() && !finished) callTimer.start(int(durationS * 1000));
            });
        if (s == tincan::PeerConnectionState::Failed)
            onQt([&] { finish(1, "the connection failed"); });
    };
    cb.onIceConnectionState = [](tincan::IceConnectionState s) {
        print({{"event", "ice-state"}, {"state", tincan::toString(s)}});
    };
    cb.onTrack = [&](std::shared_ptr<tincan::Track> t) {
        print(
            {{"event", "remote-track"}, {"kind", tincan::toString(t->kind())}, {"mid", t->mid()}});
    };
    auto created = tincan::PeerConnection::create({}, cb);
    if (!created) {
        std::fprintf(stderr, "tincan-rtp-reflector: %s\n", created.message().c_str());
        return 1;
    }
    pc = *created;
    for (auto kind : {tincan::MediaKind::Audio, tincan::MediaKind::Video}) {
        auto t = pc->addTrack(kind);
        if (!t) {
            std::fprintf(stderr, "tincan-rtp-reflector: addTrack: %s\n", t.message().c_str());
            return 1;
        }
        reflect(*t);
    }

    tincan::session::Negotiator::Hooks hooks;
    hooks.onJoined = [](int peers) {
        print({{"event", "signaling"}, {"state", "joined"}, {"peers", peers}});
    };
    hooks.onRemoteHangup = [&] {
        print({{"event", "signaling"}, {"state", "bye"}});
        finish(0, "");
    };
    hooks.onError = [&](const std::string& e) { finish(1, e); };
    negotiator = std::make_unique<tincan::session::Negotiator>(QUrl(QString::fromStdString(signal)),
                                                               pc, hooks);
    negotiator->start();

    QTimer tick;
    QObject::connect(&tick, &QTimer::timeout, [&] {
        Json line = {{"event", "stats"}};
        {
            std::lock_guard lock(reflectorsMutex);
            for (auto& r : reflectors)
                line[std::string("reflected_") + tincan::toString(r->kind())] = {
                    {"packetsIn", r->packetsIn()}, {"framesOut", r->framesOut()}};
        }
        auto report = Json::parse(tincan::toJson(pc->getStats()));
        for (auto& o : report) {
            std::string type = o.value("type", "");
            if (type != "inbound-rtp" && type != "outbound-rtp") continue;
            std::string key =
                (type == "inbound-rtp" ? "inbound_" : "outbound_") + o.value("kind", "?");
            line[key] = {{type == "inbound-rtp" ? "packetsReceived" : "packetsSent",
                          o.value(type == "inbound-rtp" ? "packetsReceived" : "packetsSent", 0)}};
        }
        print(line);
    });
    tick.start(1000);
    QObject::connect(&callTimer, &QTimer::timeout, [&] { finish(0, ""); });
    // Never connected: give up after the call's length plus a minute.
    QTimer::singleShot(int(durationS * 1000) + 60000, &app,
                       [&] { finish(1, "not connected within --duration + 60 s"); });
    int code = app.exec();
    negotiator.reset();
    pc.reset();
    return code == 0 ? exitCode : code;
}
