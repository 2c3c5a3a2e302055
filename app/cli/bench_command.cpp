// tincan-cli bench-open | bench-throughput: the interop harness's benchmark modes
// (tests/interop/README.md, "Modes"; page/peer.js and aiortc_peer.py), with the same channel
// labels, the same messages and the same result line, so that Tincan pairs with itself,
// Chromium or aiortc in tests/interop/bench_baselines.py.
//
// bench-open: per round (rooms ROOM-0, ROOM-1, ... when --rounds > 1) a fresh PeerSession; the
// newcomer opens `bench-open` at `welcome` and measures welcome -> open, waits 50 ms and hangs
// up; the peer first in the room measures peer-joined -> the remote channel's open and ends on
// the newcomer's bye. The welcome and peer-joined instants come from the session's own event
// lines (EventWriter::setObserver), so PeerSession needs no hook of its own.
//
// bench-throughput: the sender opens `bench`, sends {"type":"bench","bytes":N}, then N bytes in
// `chunk` binary messages (one block of the tincan pattern, seed 7, generated once in memory)
// paced by bufferedAmount: it queues while bufferedAmount <= high and resumes on
// bufferedamountlow (threshold `low`); every send happens on the network thread, so no message
// is copied across threads. It waits for {"type":"done","bytes":N,"seconds":S}. The receiver
// counts from the header to the last byte and answers `done`. MB = 10^6 bytes.
#include <QCoreApplication>
#include <QObject>
#include <QTimer>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>

#include "app/cli/commands.hpp"
#include "app/cli/events.hpp"
#include "app/cli/peer_session.hpp"

namespace tincan::cli {
namespace {

using Steady = std::chrono::steady_clock;
const Steady::time_point kProcessStart = Steady::now();  // static initialisation: process start

double round3(double x) {
    return std::round(x * 1000.0) / 1000.0;
}
double msSince(Steady::time_point from, Steady::time_point to = Steady::now()) {
    return std::chrono::duration<double, std::milli>(to - from).count();
}
double tMs(Steady::time_point t = Steady::now()) {
    return round3(msSince(kProcessStart, t));
}

// As stats() in page/peer.js: {n, min, median, p90, max}.
Json summary(std::vector<double> v) {
    if (v.empty()) return nullptr;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return {{"n", n},
            {"min", round3(v.front())},
            {"median", round3(median)},
            {"p90", round3(v[std::min(n - 1, size_t(0.9 * double(n)))])},
            {"max", round3(v.back())}};
}

// `size` bytes of the tincan pattern v1 (tests/interop/README.md): little-endian 32-bit words,
// word i = lowbias32(seed * 0x9E3779B9 + i).
Bytes patternBlock(size_t size, uint32_t seed) {
    Bytes out((size + 3) / 4 * 4);
    uint32_t base = seed * 0x9E3779B9u;
    for (size_t i = 0; i < out.size() / 4; ++i) {
        uint32_t x = base + uint32_t(i);
        x ^= x >> 16;
        x *= 0x7feb352du;
        x ^= x >> 15;
        x *= 0x846ca68bu;
        x ^= x >> 16;
        for (int b = 0; b < 4; ++b) out[4 * i + b] = uint8_t(x >> (8 * b));
    }
    out.resize(size);
    return out;
}

Json selectedPairOf(PeerSession& session) {
    auto pair = session.pc().selectedPair();
    if (!pair) return nullptr;
    return {{"local", candidateJson(pair->local)}, {"remote", candidateJson(pair->remote)}};
}

void printResult(Json result) {
    result["event"] = "result";
    result["t_ms"] = tMs();
    events().print(result);
}

// Milestones of one session, ms since process start (the `times` of the harness peers).
class Milestones {
public:
    // False if `name` was already marked (the first instant counts).
    bool mark(const std::string& name, Steady::time_point t = Steady::now()) {
        std::lock_guard lock(m_);
        return at_.emplace(name, t).second;
    }
    std::optional<Steady::time_point> at(const std::string& name) const {
        std::lock_guard lock(m_);
        auto it = at_.find(name);
        if (it == at_.end()) return std::nullopt;
        return it->second;
    }
    Json json() const {
        std::lock_guard lock(m_);
        Json j = Json::object();
        for (const auto& [k, t] : at_) j[k] = tMs(t);
        return j;
    }
    // From the session's own event lines.
    void observe(const Json& ev) {
        std::string name = ev.value("event", "");
        std::string state =
            ev.contains("state") && ev["state"].is_string() ? ev["state"].get<std::string>() : "";
        if (name == "signaling" && state == "peer-joined") mark("peer-joined");
        if (name == "ice-state" && (state == "connected" || state == "completed"))
            mark("ice-connected");
        if (name == "dtls-state" && state == "connected") mark("dtls-connected");
        if (name == "connection-state" && state == "connected") mark("connected");
    }

private:
    mutable std::mutex m_;
    std::map<std::string, Steady::time_point> at_;
};

// ==================================================================== bench-open

struct OpenRound {
    Milestones times;
    std::atomic<bool> newcomer{false};
    std::mutex m;
    std::optional<double> openMs;
    std::optional<std::string> error;
    bool decided = false;  // open_ms or error set

    void decide(std::optional<double> ms, std::optional<std::string> err) {
        std::lock_guard lock(m);
        if (decided) return;
        decided = true;
        openMs = ms;
        error = std::move(err);
    }
};

Json runOpenRound(QCoreApplication& app, const CommonOptions& options, int round) {
    auto st = std::make_shared<OpenRound>();
    PeerSession* self = nullptr;
    QObject roundContext;  // timers of this round die with it
    std::shared_ptr<DataChannel> own;

    PeerSession::Hooks hooks;
    hooks.onDataChannel = [st](std::shared_ptr<DataChannel> ch) {
        // Network thread; remote channels arrive open.
        if (ch->label() == "bench-open") st->times.mark("datachannel-open");
    };
    hooks.onRemoteHangup = [&, st] {
        if (st->newcomer) {
            st->decide(std::nullopt, "remote gone before open");
        } else if (auto open = st->times.at("datachannel-open");
                   open && st->times.at("peer-joined")) {
            st->decide(round3(msSince(*st->times.at("peer-joined"), *open)), std::nullopt);
        } else {
            st->decide(std::nullopt, "remote gone before open");
        }
        self->finish(0);
    };
    PeerSession session(app, options, hooks);
    self = &session;

    events().setObserver([st, &session, &own, &roundContext](const Json& ev) {
        st->times.observe(ev);
        if (ev.value("event", "") != "signaling" || ev.value("state", "") != "joined") return;
        // Qt thread, inside the welcome handler, before the newcomer's offer (as the page does).
        if (!st->times.mark("welcome")) return;  // a rejoin after a signaling drop
        st->newcomer = ev.value("peers", 0) >= 1;
        if (!st->newcomer) return;
        auto created = session.pc().createDataChannel("bench-open");
        if (!created) return session.finish(1, "cannot open a data channel: " + created.message());
        own = *created;
        std::weak_ptr<DataChannel> weak = own;
        own->setCallbacks(
            {.onOpen =
                 [st, weak, &session, &roundContext] {
                     auto t = Steady::now();
                     st->times.mark("datachannel-open", t);
                     auto ch = weak.lock();
                     events().print({{"event", "datachannel-open"},
                                     {"label", "bench-open"},
                                     {"id", ch && ch->id() ? *ch->id() : 0}});
                     st->decide(round3(msSince(*st->times.at("welcome"), t)), std::nullopt);
                     session.onQt([&session, &roundContext] {
                         QTimer::singleShot(50, &roundContext, [&session] { session.finish(0); });
                     });
                 },
             .onMessage = {},
             .onClose = {},
             .onBufferedAmountLow = {}});
    });
    session.start();
    int code = session.exec();
    events().setObserver(nullptr);

    Json r = {{"round", round},
              {"role", st->newcomer ? "newcomer" : "first"},
              {"times", st->times.json()}};
    std::lock_guard lock(st->m);
    if (st->openMs) r["open_ms"] = *st->openMs;
    if (st->error)
        r["error"] = *st->error;
    else if (!st->openMs)
        r["error"] = "the session ended without an open channel (exit code " +
                     std::to_string(code) + ", see stderr)";
    return r;
}

// ==================================================================== bench-throughput

// The sending side; every method runs on the network thread.
class Sender : public std::enable_shared_from_this<Sender> {
public:
    Sender(PeerSession& session, const BenchOptions& o) : session_(session), o_(o) {}

    // Any thread.
    bool done() const { return done_; }

    void start() {
        auto created = session_.pc().createDataChannel("bench");
        if (!created) return session_.finish(1, "cannot open a data channel: " + created.message());
        ch_ = *created;
        // Before it opens: the threshold goes to SCTP with the channel (no race with the first
        // drain).
        ch_->setBufferedAmountLowThreshold(std::min(o_.low, o_.high));
        std::weak_ptr<Sender> weak = shared_from_this();
        ch_->setCallbacks({.onOpen =
                               [weak] {
                                   if (auto s = weak.lock()) s->onOpen();
                               },
                           .onMessage =
                               [weak](ByteView d, bool binary) {
                                   if (auto s = weak.lock()) s->onMessage(d, binary);
                               },
                           .onClose =
                               [weak] {
                                   if (auto s = weak.lock())
                                       s->fail("the channel closed before the end");
                               },
                           .onBufferedAmountLow =
                               [weak] {
                                   if (auto s = weak.lock()) s->pump();
                               }});
    }

private:
    void onOpen() {
        if (opened_) return;
        opened_ = true;
        events().print(
            {{"event", "datachannel-open"}, {"label", "bench"}, {"id", ch_->id().value_or(0)}});
        chunk_ = std::max<size_t>(1, std::min(o_.chunk, ch_->maxMessageSize()));
        block_ = patternBlock(chunk_, 7);
        // SCTP refuses a message that would take bufferedAmount past 16 MiB.
        high_ = std::min<size_t>(o_.high, 16 * 1024 * 1024 - chunk_);
        if (!ch_->send(Json{{"type", "bench"}, {"bytes", o_.bytes}}.dump()))
            return fail("cannot send the header");
        t0_ = lastProgress_ = Steady::now();
        pump();
    }

    void pump() {
        if (!opened_ || done_) return;
        while (offset_ < o_.bytes && ch_->bufferedAmount() <= high_) {
            size_t n = size_t(std::min<uint64_t>(chunk_, o_.bytes - offset_));
            if (!ch_->sendBinary(ByteView(block_.data(), n)))
                return fail("the channel refused a message");
            offset_ += n;
        }
        if (msSince(lastProgress_) > 1000) {
            lastProgress_ = Steady::now();
            events().print({{"event", "transfer-progress"},
                            {"name", "bench"},
                            {"bytes", offset_},
                            {"size", o_.bytes}});
        }
    }

    void onMessage(ByteView data, bool binary) {
        if (binary || done_ || offset_ < o_.bytes) return;
        Json reply = Json::parse(asString(data), nullptr, false);
        if (!reply.is_object() || reply.value("type", "") != "done") return;
        done_ = true;
        double seconds = msSince(t0_) / 1000;
        bool ok = reply.value("bytes", uint64_t(0)) == o_.bytes;
        printResult({{"mode", "bench-throughput"},
                     {"ok", ok},
                     {"role", "send"},
                     {"bytes", o_.bytes},
                     {"chunk", chunk_},
                     {"high", high_},
                     {"low", o_.low},
                     {"seconds", round3(seconds)},
                     {"mbps", round3(double(o_.bytes) / 1e6 / seconds)},
                     {"receiver", reply},
                     {"selected_pair", selectedPairOf(session_)}});
        session_.onQt([s = &session_, ok] { s->finish(ok ? 0 : 1); });
    }

    void fail(const std::string& why) {
        if (done_) return;
        done_ = true;
        printResult({{"mode", "bench-throughput"},
                     {"ok", false},
                     {"role", "send"},
                     {"error", "bench-throughput: " + why}});
        session_.onQt([s = &session_, why] { s->finish(1, "bench-throughput: " + why); });
    }

    PeerSession& session_;
    BenchOptions o_;
    std::shared_ptr<DataChannel> ch_;
    bool opened_ = false;
    std::atomic<bool> done_{false};
    size_t chunk_ = 0;
    size_t high_ = 0;
    Bytes block_;
    uint64_t offset_ = 0;
    Steady::time_point t0_, lastProgress_;
};

// The receiving side: counts, answers `done`. Network thread, except `reported`.
struct Receiver {
    std::shared_ptr<DataChannel> ch;
    int64_t want = -1;
    uint64_t got = 0;
    Steady::time_point t0, lastProgress;
    std::atomic<bool> reported{false};
    std::atomic<bool> ok{false};
};

}  // namespace

int runBenchOpen(int argc, char** argv, const CommonOptions& common, const BenchOptions& options) {
    QCoreApplication app(argc, argv);
    int rounds = std::max(1, options.rounds);
    auto start = Steady::now();
    std::vector<Json> results;
    std::vector<double> mine;
    bool ok = true;
    for (int r = 0; r < rounds; ++r) {
        CommonOptions o = common;
        if (rounds > 1) o.signal += "-" + std::to_string(r);
        // --duration bounds the whole run; each round gets what is left (30 s without it).
        double left =
            common.durationSeconds ? *common.durationSeconds - msSince(start) / 1000 : 30.0;
        if (left <= 0) {
            results.push_back({{"round", r}, {"role", "first"}, {"error", "--duration reached"}});
            ok = false;
            continue;
        }
        o.durationSeconds = left;
        Json res = runOpenRound(app, o, r);
        if (res.contains("error")) ok = false;
        if (res["role"] == "newcomer" && res.contains("open_ms"))
            mine.push_back(res["open_ms"].get<double>());
        results.push_back(std::move(res));
    }
    printResult({{"mode", "bench-open"},
                 {"ok", ok},
                 {"rounds", results},
                 {"newcomer_open_ms", summary(mine)}});
    return ok ? 0 : 1;
}

int runBenchThroughput(int argc, char** argv, const CommonOptions& common,
                       const BenchOptions& options) {
    QCoreApplication app(argc, argv);
    std::string role =
        options.role.empty() ? (options.bytes > 0 ? "send" : "receive") : options.role;
    PeerSession* self = nullptr;
    QObject context;
    auto rx = std::make_shared<Receiver>();

    PeerSession::Hooks hooks;
    if (role == "receive") {
        hooks.onDataChannel = [&, rx](std::shared_ptr<DataChannel> ch) {
            if (ch->label() != "bench" || rx->ch) return;
            rx->ch = ch;
            DataChannel* raw = ch.get();
            ch->setCallbacks(
                {.onOpen = {},
                 .onMessage =
                     [&, rx, raw](ByteView data, bool binary) {
                         if (!binary) {
                             Json m = Json::parse(asString(data), nullptr, false);
                             if (m.is_object() && m.value("type", "") == "bench" &&
                                 m.contains("bytes") && m["bytes"].is_number_unsigned()) {
                                 rx->want = int64_t(m["bytes"].get<uint64_t>());
                                 rx->got = 0;
                                 rx->t0 = rx->lastProgress = Steady::now();
                             }
                             return;
                         }
                         rx->got += data.size();
                         if (msSince(rx->lastProgress) > 1000) {
                             rx->lastProgress = Steady::now();
                             events().print({{"event", "transfer-progress"},
                                             {"name", "bench"},
                                             {"bytes", rx->got},
                                             {"size", rx->want}});
                         }
                         if (rx->want < 0 || rx->got < uint64_t(rx->want) || rx->reported) return;
                         double seconds = msSince(rx->t0) / 1000;
                         raw->send(Json{
                             {"type", "done"}, {"bytes", rx->got}, {"seconds", round3(seconds)}}
                                       .dump());
                         rx->ok = rx->got == uint64_t(rx->want);
                         rx->reported = true;
                         printResult({{"mode", "bench-throughput"},
                                      {"ok", rx->ok.load()},
                                      {"role", "receive"},
                                      {"bytes", rx->got},
                                      {"seconds", round3(seconds)},
                                      {"mbps", round3(double(rx->got) / 1e6 / seconds)},
                                      {"selected_pair", selectedPairOf(*self)}});
                         // The sender hangs up once it has read `done`; do not wait forever.
                         self->onQt([&] {
                             QTimer::singleShot(5000, &context,
                                                [&] { self->finish(rx->ok ? 0 : 1); });
                         });
                     },
                 .onClose = {},
                 .onBufferedAmountLow = {}});
        };
    }
    std::shared_ptr<Sender> sender;
    hooks.onRemoteHangup = [&, rx] {
        if (role == "receive" && rx->reported) return self->finish(rx->ok ? 0 : 1);
        // The bye may overtake the last data-channel messages: give them 3 s (as the harness peers
        // do).
        QTimer::singleShot(3000, &context, [&] {
            if (sender && sender->done()) return;  // it has finished the session itself
            if (rx->reported) return self->finish(rx->ok ? 0 : 1);
            printResult({{"mode", "bench-throughput"},
                         {"ok", false},
                         {"role", role},
                         {"error", "remote hung up before the end"}});
            self->finish(1, "bench-throughput: the remote hung up before the end");
        });
    };
    PeerSession session(app, common, hooks);
    self = &session;
    if (!session.start()) return session.exec();
    if (role == "send") {
        sender = std::make_shared<Sender>(session, options);
        sender->start();
    }
    int code = session.exec();
    return code;
}

}  // namespace tincan::cli
