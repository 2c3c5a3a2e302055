// The loop: epoll, the eventfd that wakes it, posted work, timers, and the drains that run
// after every input a machine is handed.
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <future>

#include "core/net/runtime_impl.hpp"

namespace tincan::net {

using namespace detail;

namespace {

constexpr uint64_t kWakeToken = 0;
constexpr int kMaxTransmitsPerDrain = 1 << 20;

}  // namespace

Runtime::Impl::Impl(RuntimeConfig c) : config(std::move(c)) {
    epfd = epoll_create1(EPOLL_CLOEXEC);
    wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epfd < 0 || wakefd < 0) {
        spdlog::critical("net: cannot create epoll/eventfd: {}", errnoText(errno));
    } else {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = kWakeToken;
        epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev);
    }
    udpRx.resize(kUdpBatch * kMaxDatagram);
    streamRx.resize(kStreamChunk);
    plainRx.resize(kStreamChunk);
}

Runtime::Impl::~Impl() {
    for (auto& t : tlsLoaders) t.join();
    for (auto& [token, s] : udp) ::close(s.fd);
    for (auto& [id, q] : mdnsQueries)
        for (auto& s : q.sockets) ::close(s.fd);
    streams.clear();
    if (wakefd >= 0) ::close(wakefd);
    if (epfd >= 0) ::close(epfd);
}

void Runtime::Impl::wake() {
    uint64_t one = 1;
    if (::write(wakefd, &one, sizeof one) < 0 && errno != EAGAIN)
        spdlog::error("net: eventfd write: {}", errnoText(errno));
}

void Runtime::Impl::enqueue(std::function<void()> fn) {
    bool wasEmpty;
    {
        std::lock_guard lk(queueMu);
        wasEmpty = queue.empty();
        queue.push_back(std::move(fn));
    }
    if (wasEmpty) wake();
}

void Runtime::Impl::execOnLoop(std::function<void()> fn, bool wait) {
    if (onLoopThread()) {
        fn();
        return;
    }
    std::unique_lock lk(queueMu);
    if (!loopActive) {
        // No loop can start while we hold queueMu, so the loop state is ours.
        fn();
        return;
    }
    bool wasEmpty = queue.empty();
    if (!wait) {
        queue.push_back(std::move(fn));
        lk.unlock();
        if (wasEmpty) wake();
        return;
    }
    std::promise<void> done;
    auto finished = done.get_future();
    queue.push_back([&fn, &done] {
        struct Signal {
            std::promise<void>& p;
            ~Signal() { p.set_value(); }
        } signal{done};  // also if fn throws
        fn();
    });
    lk.unlock();
    if (wasEmpty) wake();
    // The loop runs everything queued before it goes inactive, so this always returns.
    finished.wait();
}

void Runtime::Impl::start() {
    std::lock_guard lk(lifeMu);
    if (thread.joinable()) {
        if (!threadExited && !stopRequested) return;  // already running
        if (thread.get_id() == std::this_thread::get_id()) return;
        thread.join();  // it has stopped or is stopping
    }
    stopRequested = false;
    threadExited = false;
    thread = std::thread([this] {
        pthread_setname_np(pthread_self(), "tincan-net");
        // Default timer slack is 50 us; machines' deadlines want better than that.
        prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
        run();
        threadExited = true;
    });
}

void Runtime::Impl::stop() {
    stopRequested = true;
    wake();
    std::thread t;
    {
        std::lock_guard lk(lifeMu);
        if (thread.joinable() && thread.get_id() != std::this_thread::get_id())
            t = std::move(thread);
    }
    if (t.joinable()) t.join();
}

void Runtime::Impl::run() {
    {
        std::lock_guard lk(queueMu);
        if (loopActive) {
            spdlog::error("net: Runtime::run(): the loop is already running");
            return;
        }
        loopActive = true;
        loopThread = std::this_thread::get_id();
    }
    driveAll();
    runDeferred();
    epoll_event events[kMaxEvents];
    while (!stopRequested.load()) {
        int n = waitEvents(events, nextDeadline());
        if (n < 0) {
            if (errno == EINTR) continue;
            spdlog::critical("net: epoll_wait: {}; the loop stops", errnoText(errno));
            break;
        }
        bool woken = false;
        for (int i = 0; i < n; ++i) {
            uint64_t token = events[i].data.u64;
            uint32_t ev = events[i].events;
            if (token == kWakeToken) {
                uint64_t count;
                while (::read(wakefd, &count, sizeof count) > 0) {
                }
                woken = true;
            } else if (udp.count(token)) {
                onUdpReadable(token);
            } else if (streams.count(token)) {
                onStreamEvent(token, ev);
            } else if (mdnsSockets.count(token)) {
                onMdnsReadable(token);
            }
            // else: closed by an earlier event of this batch
        }
        runDeferred();
        if (woken) processQueue();
        fireTimers();
        runDeferred();
    }
    // Run what was posted before stop(), including detach() calls that wait for it.
    while (true) {
        {
            std::lock_guard lk(queueMu);
            if (queue.empty()) {
                loopActive = false;
                loopThread = std::thread::id();
                stopRequested = false;
                break;
            }
        }
        processQueue();
        runDeferred();
    }
}

int Runtime::Impl::waitEvents(epoll_event* events, std::optional<Timestamp> deadline) {
    int64_t ns = -1;  // forever
    if (deadline) {
        // Careful with far-off or ancient deadlines (Timestamp::max/min): no overflow.
        Timestamp now = Clock::now();
        Duration left = *deadline <= now
                            ? Duration::zero()
                            : std::min<Duration>(*deadline - now, std::chrono::hours(1));
        ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    }
    if (havePwait2) {
        timespec ts{time_t(std::max<int64_t>(ns, 0) / 1000000000),
                    long(std::max<int64_t>(ns, 0) % 1000000000)};
        int n = epoll_pwait2(epfd, events, kMaxEvents, ns < 0 ? nullptr : &ts, nullptr);
        if (n >= 0 || errno != ENOSYS) return n;
        havePwait2 = false;  // kernel older than 5.11
        spdlog::debug("net: no epoll_pwait2; timers fall back to millisecond precision");
    }
    // Round up: waking early would spin until the deadline.
    int ms = ns < 0 ? -1 : int(std::min<int64_t>((ns + 999999) / 1000000, INT32_MAX));
    return epoll_wait(epfd, events, kMaxEvents, ms);
}

void Runtime::Impl::processQueue() {
    std::deque<std::function<void()>> batch;
    {
        std::lock_guard lk(queueMu);
        batch.swap(queue);
    }
    if (batch.empty()) return;
    for (auto& fn : batch) {
        guarded("posted function", fn);
        runDeferred();
    }
    driveAll();
}

void Runtime::Impl::runDeferred() {
    while (!deferred.empty()) {
        auto batch = std::move(deferred);
        deferred.clear();
        for (auto& fn : batch) guarded("deferred call", fn);
    }
    for (uint64_t token : retiredStreams) streams.erase(token);
    retiredStreams.clear();
}

uint64_t Runtime::Impl::addTimer(Timestamp at, std::function<void()> fn) {
    uint64_t id = nextToken++;
    timers.emplace(std::make_pair(at, id), std::move(fn));
    return id;
}

std::optional<Timestamp> Runtime::Impl::nextDeadline() const {
    if (!deferred.empty()) return Clock::now();
    std::optional<Timestamp> next;
    if (!timers.empty()) next = timers.begin()->first.first;
    if (auto m = mdns.pollTimeout(); m && (!next || *m < *next)) next = m;
    for (const auto& [id, m] : machines)
        if (m->deadline && (!next || *m->deadline < *next)) next = m->deadline;
    return next;
}

void Runtime::Impl::fireTimers() {
    Timestamp t = Clock::now();
    while (!timers.empty() && timers.begin()->first.first <= t) {
        auto fn = std::move(timers.begin()->second);
        timers.erase(timers.begin());
        guarded("timer", fn);
    }
    if (auto m = mdns.pollTimeout(); m && *m <= t) {
        mdns.handleTimeout(t);
        driveMdns();
    }
    std::vector<std::shared_ptr<Machine>> due;
    for (const auto& [id, m] : machines)
        if (m->deadline && *m->deadline <= t) due.push_back(m);
    for (const auto& m : due) {
        if (!m->attached || !m->deadline || *m->deadline > t) continue;
        m->deadline.reset();
        guarded("handleTimeout", [&] { m->machine->handleTimeout(Clock::now()); });
        afterInput(m);
    }
}

// Machines: every input is followed by a drain of the machine's transmits and deadline.

std::shared_ptr<Runtime::Impl::Machine> Runtime::Impl::findMachine(MachineId id) const {
    auto it = machines.find(id);
    if (it == machines.end() || !it->second->attached) return nullptr;
    return it->second;
}

void Runtime::Impl::drain(const std::shared_ptr<Machine>& m) {
    guarded("pollTransmit", [&] {
        for (int i = 0; m->attached; ++i) {
            if (i == kMaxTransmitsPerDrain) {
                spdlog::warn("net: machine {} keeps transmitting; draining later", m->id);
                deferred.push_back([this, id = m->id] {
                    if (auto mm = findMachine(id)) drain(mm);
                });
                break;
            }
            auto p = m->machine->pollTransmit();
            if (!p) break;
            if (p->protocol == TransportProtocol::Udp && gso != 0) {
                if (!batchable(*p)) flushUdpBatch(*m);
                udpBatchBytes += p->data.size();
                udpBatch.push_back(std::move(*p));
                continue;
            }
            flushUdpBatch(*m);
            send(*m, std::move(*p));
        }
        flushUdpBatch(*m);
    });
    if (!udpBatch.empty()) {  // an exception left some behind
        udpBatch.clear();
        udpBatchBytes = 0;
    }
    if (m->attached) guarded("pollTimeout", [&] { m->deadline = m->machine->pollTimeout(); });
}

void Runtime::Impl::afterInput(const std::shared_ptr<Machine>& m) {
    if (!m->attached) return;
    ++machineDepth;
    drain(m);
    if (m->attached && m->onActivity) guarded("onActivity", [&] { m->onActivity(); });
    if (m->attached) drain(m);
    --machineDepth;
}

void Runtime::Impl::driveAll() {
    std::vector<std::shared_ptr<Machine>> all;
    all.reserve(machines.size());
    for (const auto& [id, m] : machines) all.push_back(m);
    for (const auto& m : all) afterInput(m);
}

void Runtime::Impl::detachNow(MachineId id) {
    auto it = machines.find(id);
    if (it == machines.end()) return;
    std::shared_ptr<Machine> m = it->second;
    machines.erase(it);
    m->attached = false;
    for (auto& [local, token] : std::unordered_map<Endpoint, uint64_t>(m->udpByLocal))
        closeUdpSocket(token);
    for (auto& [key, token] : std::map<StreamKey, uint64_t>(m->streamByKey)) {
        auto s = streams.find(token);
        if (s != streams.end()) retireStream(*s->second);
    }
    m->udpByLocal.clear();
    m->streamByKey.clear();
    spdlog::debug("net: machine {} detached", id);
}

void Runtime::Impl::send(Machine& m, Packet&& p) {
    if (p.protocol == TransportProtocol::Udp) {
        sendUdp(m, p);
        return;
    }
    if (p.protocol != TransportProtocol::Tcp && p.protocol != TransportProtocol::Tls) {
        bump(counters.droppedNoSocket);
        return;
    }
    auto it = m.streamByKey.find(StreamKey{p.protocol, p.local.ip, p.remote});
    Stream* s = nullptr;
    if (it != m.streamByKey.end()) {
        auto st = streams.find(it->second);
        if (st != streams.end()) s = st->second.get();
    }
    if (!s) s = openStream(m, p.protocol, p.local.ip, p.remote);
    if (s) writeStream(*s, p.data);
}

}  // namespace tincan::net
