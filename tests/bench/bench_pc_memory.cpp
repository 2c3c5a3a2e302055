// Memory per idle PeerConnection with one open data channel: N pairs of PeerConnections in
// one process, on one net::Runtime, over loopback, each pair negotiated directly (offer and
// answer handed across, candidates trickled inline, as tests/core/pc/test_peer_connection.cpp
// does) with one ordered reliable channel opened by the offerer. Reports VmRSS (and the
// malloc heap in use, mallinfo2) before and after, per pair and per PeerConnection.
//
//   bench_pc_memory [--pairs N]... [--batch B] [--idle S] [--json FILE]
//
// Each N runs in a fresh child process (fork before any thread exists), so that one run's
// freed-but-kept heap does not hide the next one's growth. The baseline is taken after a
// warm-up pair has connected (usrsctp's global stack, OpenSSL's tables, the runtime thread
// are paid once per process, not per connection). 2 N PeerConnections hold 2 N UDP sockets:
// RLIMIT_NOFILE is raised to its hard limit.
#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "tincan/peer_connection.hpp"

using namespace tincan;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

long statusKiB(const char* key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    size_t n = std::strlen(key);
    while (std::getline(in, line))
        if (line.compare(0, n, key) == 0 && line.size() > n && line[n] == ':')
            return std::stol(line.substr(n + 1));
    return -1;
}

// Bytes malloc has handed out: from its arenas plus its own mmap()s (blocks of >= 128 KiB).
size_t heapInUse() {
    auto mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

size_t openFds() {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

struct Sample {
    long rssKiB = 0;
    size_t heap = 0;
    size_t fds = 0;
};
Sample sample() {
    return {statusKiB("VmRSS"), heapInUse(), openFds()};
}

class Bench {
public:
    struct Pair {
        std::shared_ptr<PeerConnection> pc[2];
        std::shared_ptr<DataChannel> local, remote;
        bool localOpen = false;
        bool failed = false;
    };

    Bench() = default;
    ~Bench() {
        for (auto& p : pairs_)
            for (auto& c : p->pc)
                if (c) c->close();
        pairs_.clear();
    }

    // Creates, negotiates and opens `n` pairs, at most `batch` connecting at a time. False
    // (with a reason) if some did not open within the time limit.
    bool addPairs(size_t n, size_t batch, std::string* why) {
        size_t done = 0;
        while (done < n) {
            size_t k = std::min(batch, n - done);
            size_t first = pairs_.size();
            for (size_t i = 0; i < k; ++i)
                if (!addPair(why)) return false;
            std::unique_lock lock(m_);
            bool ok = cv_.wait_for(lock, 60s, [&] {
                for (size_t i = first; i < pairs_.size(); ++i)
                    if (pairs_[i]->failed || !pairs_[i]->localOpen || !pairs_[i]->remote)
                        return false;
                return true;
            });
            if (!ok) {
                size_t open = 0;
                for (size_t i = first; i < pairs_.size(); ++i)
                    open += pairs_[i]->localOpen && pairs_[i]->remote;
                *why = "only " + std::to_string(open) + " of " + std::to_string(k) +
                       " pairs in the batch opened in 60 s";
                return false;
            }
            done += k;
        }
        return true;
    }

    size_t openChannels() {
        std::lock_guard lock(m_);
        size_t n = 0;
        for (auto& p : pairs_)
            n += (p->localOpen && p->local->state() == DataChannelState::Open) +
                 (p->remote && p->remote->state() == DataChannelState::Open);
        return n;
    }

private:
    bool addPair(std::string* why) {
        auto pair = std::make_shared<Pair>();
        Pair* p = pair.get();
        for (int i = 0; i < 2; ++i) {
            Configuration cfg;
            cfg.interfaces = {"lo"};
            cfg.allowLoopback = true;
            cfg.networkThread = thread_;
            PeerConnectionCallbacks cb;
            int other = 1 - i;
            cb.onIceCandidate = [p, other](const std::optional<IceCandidate>& c) {
                (void)p->pc[other]->addIceCandidate(c);
            };
            cb.onConnectionState = [this, p](PeerConnectionState s) {
                if (s != PeerConnectionState::Failed) return;
                std::lock_guard lock(m_);
                p->failed = true;
                cv_.notify_all();
            };
            if (i == 1)
                cb.onDataChannel = [this, p](std::shared_ptr<DataChannel> ch) {
                    std::lock_guard lock(m_);
                    p->remote = std::move(ch);
                    cv_.notify_all();
                };
            auto created = PeerConnection::create(cfg, cb);
            if (!created) {
                *why = "PeerConnection::create: " + created.message();
                return false;
            }
            p->pc[i] = *created;
        }
        auto channel = p->pc[0]->createDataChannel("bench");
        if (!channel) return *why = channel.message(), false;
        p->local = *channel;
        p->local->setCallbacks({.onOpen =
                                    [this, p] {
                                        std::lock_guard lock(m_);
                                        p->localOpen = true;
                                        cv_.notify_all();
                                    },
                                .onMessage = {},
                                .onClose = {},
                                .onBufferedAmountLow = {}});
        {
            std::lock_guard lock(m_);
            pairs_.push_back(pair);
        }
        auto offer = p->pc[0]->createOffer();
        if (!offer) return *why = offer.message(), false;
        if (auto e = p->pc[0]->setLocalDescription(*offer); !e) return *why = e.message(), false;
        if (auto e = p->pc[1]->setRemoteDescription(*offer); !e) return *why = e.message(), false;
        auto answer = p->pc[1]->createAnswer();
        if (!answer) return *why = answer.message(), false;
        if (auto e = p->pc[1]->setLocalDescription(*answer); !e) return *why = e.message(), false;
        if (auto e = p->pc[0]->setRemoteDescription(*answer); !e) return *why = e.message(), false;
        return true;
    }

    std::shared_ptr<NetworkThread> thread_ = NetworkThread::create();
    std::mutex m_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Pair>> pairs_;
};

Json runOnce(size_t n, size_t batch, double idleSeconds) {
    Json r = {{"pairs", n}, {"peer_connections", 2 * n}};
    Bench bench;
    std::string why;
    if (!bench.addPairs(1, 1, &why)) {  // warm-up: once-per-process costs
        r["error"] = "warm-up pair: " + why;
        return r;
    }
    std::this_thread::sleep_for(500ms);
    Sample before = sample();
    auto t0 = std::chrono::steady_clock::now();
    bool ok = bench.addPairs(n, batch, &why);
    double connectS = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!ok) r["error"] = why;
    Sample open = sample();
    std::this_thread::sleep_for(std::chrono::duration<double>(idleSeconds));
    Sample idle = sample();
    size_t channels = bench.openChannels();
    auto kib = [](long v) { return v; };
    auto perPc = [&](double bytes) { return std::round(bytes / double(2 * n) / 1024.0 * 10) / 10; };
    r["connect_seconds"] = std::round(connectS * 100) / 100;
    r["open_channel_ends"] = channels;  // 2 per pair when all are open
    r["rss_kib"] = {{"before", kib(before.rssKiB)},
                    {"all_open", kib(open.rssKiB)},
                    {"after_idle", kib(idle.rssKiB)}};
    r["heap_bytes"] = {{"before", before.heap}, {"all_open", open.heap}, {"after_idle", idle.heap}};
    r["fds"] = {{"before", before.fds}, {"after_idle", idle.fds}};
    double dRss = double(idle.rssKiB - before.rssKiB) * 1024.0;
    double dHeap = double(idle.heap) - double(before.heap);
    r["rss_per_pc_kib"] = perPc(dRss);
    r["rss_per_pair_kib"] = perPc(dRss) * 2;
    r["heap_per_pc_kib"] = perPc(dHeap);
    r["idle_seconds"] = idleSeconds;
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<size_t> ns;
    size_t batch = 50;
    double idle = 3;
    std::string jsonPath;
    bool smoke = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--pairs")
            ns.push_back(std::stoul(next()));
        else if (a == "--batch")
            batch = std::max<size_t>(1, std::stoul(next()));
        else if (a == "--idle")
            idle = std::stod(next());
        else if (a == "--json")
            jsonPath = next();
        // packaging/test.sh runs every bench_* once with Google Benchmark's flags: a short
        // smoke run (10 pairs) proves this one still works.
        else if (a.rfind("--benchmark_", 0) == 0)
            smoke = true;
        else {
            std::fprintf(
                stderr,
                "usage: bench_pc_memory [--pairs N]... [--batch B] [--idle S] [--json FILE]\n");
            return 2;
        }
    }
    if (ns.empty()) ns = smoke ? std::vector<size_t>{10} : std::vector<size_t>{100, 1000};
    if (smoke) idle = std::min(idle, 0.2);
    spdlog::set_level(spdlog::level::err);

    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);

    Json all = Json::array();
    std::printf("%8s %6s %10s %12s %12s %12s %12s %10s\n", "pairs", "PCs", "connect s",
                "RSS before", "RSS after", "RSS/PC KiB", "heap/PC KiB", "fds");
    for (size_t n : ns) {
        // One child per N: a fresh heap and a fresh usrsctp stack.
        int fds[2];
        if (pipe(fds) != 0) return 1;
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            std::string out = runOnce(n, batch, idle).dump();
            (void)!write(fds[1], out.data(), out.size());
            close(fds[1]);
            _exit(0);
        }
        close(fds[1]);
        std::string out;
        char buf[4096];
        for (ssize_t k; (k = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, size_t(k));
        close(fds[0]);
        int status = 0;
        waitpid(pid, &status, 0);
        Json r = Json::parse(out, nullptr, false);
        if (r.is_discarded())
            r = {{"pairs", n}, {"error", "child died (status " + std::to_string(status) + ")"}};
        all.push_back(r);
        if (r.contains("rss_kib"))
            std::printf("%8zu %6zu %10.2f %9ld KiB %9ld KiB %12.1f %12.1f %10zu%s%s\n", n, 2 * n,
                        r["connect_seconds"].get<double>(), r["rss_kib"]["before"].get<long>(),
                        r["rss_kib"]["after_idle"].get<long>(), r["rss_per_pc_kib"].get<double>(),
                        r["heap_per_pc_kib"].get<double>(), r["fds"]["after_idle"].get<size_t>(),
                        r.contains("error") ? "  ERROR: " : "",
                        r.contains("error") ? r["error"].get<std::string>().c_str() : "");
        else
            std::printf("%8zu  ERROR: %s\n", n, r.value("error", std::string("?")).c_str());
        std::fflush(stdout);
    }
    if (!jsonPath.empty()) std::ofstream(jsonPath) << all.dump(1) << "\n";
    for (const auto& r : all)
        if (r.contains("error")) return 1;
    return 0;
}
