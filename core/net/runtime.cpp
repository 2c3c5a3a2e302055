#include "core/net/runtime.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/common/random.hpp"
#include "core/net/mdns.hpp"

namespace tincan::net {
namespace {

constexpr uint64_t kWakeToken = 0;
constexpr int kMaxEvents = 64;
constexpr int kUdpBatch = 16;
constexpr size_t kMaxDatagram = 65536;
constexpr int kUdpBatchesPerWake = 8;  // then let other sockets have a turn (level-triggered)
constexpr size_t kStreamChunk = 64 * 1024;
constexpr int kStreamReadsPerWake = 16;
constexpr size_t kCompactThreshold = 1024 * 1024;
constexpr int kMaxTransmitsPerDrain = 1 << 20;
// UDP GSO (UDP_SEGMENT, Linux 4.18): consecutive datagrams of one drain from one socket to one
// remote, all of one size but the last, leave in one sendmsg() and cross the stack as one
// buffer (a bulk data-channel sender's SCTP packets: up to +40 % throughput on loopback). On
// the wire nothing changes. At most this many per call (the kernel's UDP_MAX_SEGMENTS) and
// 65000 bytes.
constexpr size_t kGsoMaxSegments = 64;
constexpr size_t kGsoMaxBytes = 65000;
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

std::string errnoText(int err) {
    return std::system_category().message(err);
}

std::string opensslErrors() {
    std::string out;
    char buf[256];
    while (unsigned long e = ERR_get_error()) {
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out.empty() ? std::string("unknown TLS error") : out;
}

using SslCtxPtr = std::shared_ptr<SSL_CTX>;

// Trust anchors: the system store plus the given PEM files.
SslCtxPtr makeClientContext(const std::vector<std::string>& caFiles, std::string* error) {
    ERR_clear_error();
    SSL_CTX* raw = SSL_CTX_new(TLS_client_method());
    if (!raw) {
        if (error) *error = "SSL_CTX_new: " + opensslErrors();
        return nullptr;
    }
    SslCtxPtr ctx(raw, SSL_CTX_free);
    SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
    if (SSL_CTX_set_default_verify_paths(raw) != 1) {
        spdlog::warn("net: TLS: cannot use the system certificate store: {}", opensslErrors());
    }
    for (const auto& file : caFiles) {
        if (file.empty()) continue;
        if (SSL_CTX_load_verify_locations(raw, file.c_str(), nullptr) != 1) {
            if (error) *error = "cannot load CA file " + file + ": " + opensslErrors();
            return nullptr;
        }
    }
    return ctx;
}

// The interface index for an IPv6 link-local address held by this host (0: none).
uint32_t scopeIdOf(const IpAddress& ip) {
    if (!ip.isV6() || !ip.isLinkLocal()) return 0;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return 0;
    uint32_t index = 0;
    for (ifaddrs* ifa = list; ifa && !index; ifa = ifa->ifa_next) {
        if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET6) continue;
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(ifa->ifa_addr);
        if (std::memcmp(&in6->sin6_addr, ip.bytes().data(), 16) == 0)
            index = in6->sin6_scope_id ? in6->sin6_scope_id : if_nametoindex(ifa->ifa_name);
    }
    freeifaddrs(list);
    return index;
}

socklen_t toSockaddr(const Endpoint& ep, uint32_t scopeId, sockaddr_storage& ss) {
    socklen_t len = ep.toSockaddr(ss);
    if (ep.ip.isV6() && ep.ip.isLinkLocal())
        reinterpret_cast<sockaddr_in6*>(&ss)->sin6_scope_id = scopeId;
    return len;
}

void setSocketBuffer(int fd, int forceOpt, int opt, int bytes) {
    // The *FORCE variants ignore net.core.[rw]mem_max but need CAP_NET_ADMIN.
    if (setsockopt(fd, SOL_SOCKET, forceOpt, &bytes, sizeof bytes) == 0) return;
    if (setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes) != 0)
        spdlog::debug("net: setsockopt buffer size: {}", errnoText(errno));
}

template <class F>
void guarded(const char* what, F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        spdlog::error("net: {} threw: {}", what, e.what());
    } catch (...) {
        spdlog::error("net: {} threw an unknown exception", what);
    }
}

struct Counters {
    std::atomic<uint64_t> udpRx{0}, udpTx{0}, udpTxDropped{0}, bytesRx{0}, bytesTx{0},
        streamConnects{0}, streamFailures{0}, droppedNoSocket{0};
};

inline void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.fetch_add(n, std::memory_order_relaxed);
}

using StreamKey = std::tuple<TransportProtocol, IpAddress, Endpoint>;

}  // namespace

struct Runtime::Impl {
    struct Machine {
        MachineId id = kInvalidMachine;
        SansIoMachine* machine = nullptr;
        std::function<void()> onActivity;
        bool attached = true;
        std::optional<Timestamp> deadline;
        std::unordered_map<Endpoint, uint64_t> udpByLocal;  // bound endpoint -> socket token
        std::map<StreamKey, uint64_t> streamByKey;          // -> stream token
    };

    struct UdpSocket {
        int fd = -1;
        Endpoint bound;
        uint32_t scopeId = 0;
        MachineId owner = kInvalidMachine;
    };

    enum class Phase : uint8_t { Connecting = 1, Handshaking = 2, Open = 3, Lingering = 4 };

    struct Stream {
        uint64_t token = 0;
        MachineId owner = kInvalidMachine;
        TransportProtocol protocol = TransportProtocol::Tcp;
        IpAddress localIp;
        Endpoint remote;
        int fd = -1;  // -1 once retired
        Phase phase = Phase::Connecting;
        bool wasOpen = false;
        bool shutdownSent = false;
        uint32_t events = 0;
        Bytes out;  // bytes for the socket (ciphertext for TLS)
        size_t outOff = 0;
        Bytes pendingPlain;  // TLS application data written before the handshake completed
        TlsOptions tls;
        SSL* ssl = nullptr;
        BIO* wbio = nullptr;  // owned by ssl; so is the read BIO
        BIO* rbio = nullptr;

        size_t unsent() const { return out.size() - outOff + pendingPlain.size(); }
        ~Stream() {
            if (ssl) SSL_free(ssl);
            if (fd >= 0) ::close(fd);
        }
    };

    // An SSL_CTX per extra CA file ("" = none). Building one reads the system store, which
    // takes ~80 ms (OpenSSL 3 parses the whole bundle), so it happens on a helper thread, in
    // parallel with the TCP connect, and only once a TLS stream or setTlsOptions() wants it.
    struct TlsContext {
        SslCtxPtr ctx;
        std::string error;  // why ctx is null
        bool ready = false;
        std::vector<uint64_t> waiting;  // streams connected before it was ready
    };

    struct MdnsSocket {
        uint64_t token = 0;
        int fd = -1;
        bool v6 = false;
    };

    struct MdnsQuery {
        uint64_t id = 0;
        std::string name;
        Bytes query;
        std::vector<MdnsSocket> sockets;
        std::function<void(std::optional<IpAddress>)> done;
    };

    explicit Impl(RuntimeConfig c);
    ~Impl();

    // --- threads and the queue -------------------------------------------------------------
    void execOnLoop(std::function<void()> fn, bool wait);
    void enqueue(std::function<void()> fn);
    void wake();
    bool onLoopThread() const { return loopThread.load() == std::this_thread::get_id(); }
    void run();
    void start();
    void stop();
    void processQueue();
    void runDeferred();
    void fireTimers();
    std::optional<Timestamp> nextDeadline() const;
    int waitEvents(epoll_event* events, std::optional<Timestamp> deadline);
    uint64_t addTimer(Timestamp at, std::function<void()> fn);

    // --- machines ---------------------------------------------------------------------------
    std::shared_ptr<Machine> findMachine(MachineId id) const;
    void afterInput(const std::shared_ptr<Machine>& m);
    void drain(const std::shared_ptr<Machine>& m);
    void driveAll();
    void detachNow(MachineId id);
    void send(Machine& m, Packet&& p);

    // --- UDP --------------------------------------------------------------------------------
    void sendUdp(Machine& m, const Packet& p);
    const UdpSocket* findUdpSocket(Machine& m, const Endpoint& local);
    // Datagrams of the drain under way that may leave together (see kGsoMaxSegments).
    bool batchable(const Packet& p) const;
    void flushUdpBatch(Machine& m);
    std::vector<Packet> udpBatch;
    size_t udpBatchBytes = 0;
    Bytes gsoBuffer;
    int gso = -1;  // UDP_SEGMENT usable: -1 not probed yet, 0 no, 1 yes
    void onUdpReadable(uint64_t token);
    void closeUdpSocket(uint64_t token);

    // --- streams ----------------------------------------------------------------------------
    Stream* openStream(Machine& m, TransportProtocol protocol, const IpAddress& localIp,
                       const Endpoint& remote);
    TlsContext& requestTlsContext(const std::string& caFile);
    void onTlsContextReady(const std::string& caFile, SslCtxPtr ctx, std::string error);
    void startTls(Stream& s);
    bool setupTls(Stream& s, SSL_CTX* ctx, std::string* error);
    void writeStream(Stream& s, ByteView data);
    void onStreamEvent(uint64_t token, uint32_t events);
    void onTcpConnected(Stream& s);
    void readStream(Stream& s);
    void deliverStreamData(Stream& s, ByteView data);
    void tlsHandshake(Stream& s);
    void tlsReadApp(Stream& s);
    void tlsWrite(Stream& s, ByteView data);
    void takeTlsOutput(Stream& s);
    bool checkBufferLimit(Stream& s);
    void flushOut(Stream& s);
    void updateInterest(Stream& s);
    void endStream(Stream& s, const std::string& reason);
    void onPeerClosed(Stream& s);
    void beginLinger(Stream& s);
    void retireStream(Stream& s);
    void notifyStream(MachineId owner, TransportProtocol protocol, const IpAddress& localIp,
                      const Endpoint& remote, StreamState state);

    // --- mDNS -------------------------------------------------------------------------------
    void startMdns(std::string name, std::function<void(std::optional<IpAddress>)> done,
                   Duration timeout);
    size_t sendMdns(MdnsQuery& q);
    void onMdnsReadable(uint64_t token);
    void finishMdns(uint64_t queryId, std::optional<IpAddress> result);

    RuntimeConfig config;
    int epfd = -1;
    int wakefd = -1;
    bool havePwait2 = true;

    std::mutex lifeMu;
    std::thread thread;
    std::atomic<bool> stopRequested{false};
    std::atomic<bool> threadExited{false};
    std::atomic<std::thread::id> loopThread{};

    std::mutex queueMu;
    bool loopActive = false;  // guarded by queueMu
    std::deque<std::function<void()>> queue;

    std::atomic<uint64_t> nextMachineId{1};
    std::atomic<uint64_t> nextToken{1};
    std::mutex liveMu;
    std::unordered_set<MachineId> liveIds;  // attached, as seen by callers (any thread)

    Counters counters;
    std::vector<std::thread> tlsLoaders;  // joined on destruction

    // Loop state: touched on the loop thread only, or under queueMu while no loop runs.
    std::unordered_map<MachineId, std::shared_ptr<Machine>> machines;
    std::unordered_map<uint64_t, UdpSocket> udp;
    std::unordered_map<uint64_t, std::unique_ptr<Stream>> streams;
    std::unordered_map<uint64_t, std::unique_ptr<MdnsQuery>> mdnsQueries;
    std::unordered_map<uint64_t, uint64_t> mdnsSockets;  // socket token -> query id
    std::unordered_map<Endpoint, TlsOptions> tlsDestinations;
    std::map<std::string, TlsContext> tlsContexts;
    std::map<std::pair<Timestamp, uint64_t>, std::function<void()>> timers;
    std::vector<std::function<void()>> deferred;  // run at the top of the loop
    std::vector<uint64_t> retiredStreams;         // freed at the top of the loop
    int machineDepth = 0;                         // > 0 while inside afterInput()

    Bytes udpRx;
    mmsghdr msgs[kUdpBatch]{};
    iovec iovs[kUdpBatch]{};
    sockaddr_storage addrs[kUdpBatch]{};
    Bytes streamRx;
    Bytes plainRx;
};

// ===== lifecycle
// ==================================================================================

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
        for (auto& s : q->sockets) ::close(s.fd);
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

// ===== machines
// ===================================================================================

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

// ===== UDP
// ========================================================================================

bool Runtime::Impl::batchable(const Packet& p) const {
    if (udpBatch.empty()) return true;
    const Packet& first = udpBatch.front();
    const Packet& last = udpBatch.back();
    return udpBatch.size() < kGsoMaxSegments && udpBatchBytes + p.data.size() <= kGsoMaxBytes &&
           p.local == first.local && p.remote == first.remote && !first.data.empty() &&
           last.data.size() == first.data.size() && p.data.size() <= first.data.size() && !p.data.empty();
}

void Runtime::Impl::flushUdpBatch(Machine& m) {
    if (udpBatch.empty()) return;
    std::vector<Packet> batch = std::move(udpBatch);
    udpBatch.clear();
    udpBatchBytes = 0;
    if (batch.size() == 1) {
        sendUdp(m, batch.front());
        return;
    }
    const Packet& first = batch.front();
    const UdpSocket* s = findUdpSocket(m, first.local);
    if (!s || first.remote.ip.family() != s->bound.ip.family() || first.remote.port == 0) {
        for (const auto& p : batch) sendUdp(m, p);  // dropped and counted one by one
        return;
    }
    if (gso < 0) {
        // A kernel without UDP GSO (before 4.18) would ignore the option and send the whole
        // buffer as one datagram: ask first.
        int value = 0;
        socklen_t vlen = sizeof value;
        gso = ::getsockopt(s->fd, SOL_UDP, UDP_SEGMENT, &value, &vlen) == 0 ? 1 : 0;
        spdlog::debug("net: UDP GSO {}", gso ? "available" : "not available");
    }
    if (gso == 0) {
        for (const auto& p : batch) sendUdp(m, p);
        return;
    }
    gsoBuffer.clear();
    for (const auto& p : batch) gsoBuffer.insert(gsoBuffer.end(), p.data.begin(), p.data.end());
    sockaddr_storage ss;
    socklen_t len = toSockaddr(first.remote, s->scopeId, ss);
    iovec iov{gsoBuffer.data(), gsoBuffer.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint16_t))] = {};
    msghdr msg{};
    msg.msg_name = &ss;
    msg.msg_namelen = len;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t segment = uint16_t(first.data.size());
    std::memcpy(CMSG_DATA(cm), &segment, sizeof segment);
    ssize_t n;
    do {
        n = ::sendmsg(s->fd, &msg, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
        bump(counters.udpTx, batch.size());
        bump(counters.bytesTx, uint64_t(n));
        return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        bump(counters.udpTxDropped, batch.size());  // UDP semantics, as in sendUdp()
        return;
    }
    int err = errno;
    if (err == EIO || err == EOPNOTSUPP || err == ENOPROTOOPT) {
        // The device cannot segment (no checksum offload): one by one from now on.
        spdlog::debug("net: UDP GSO refused ({}); sending datagrams one by one", errnoText(err));
        gso = 0;
    }
    // Otherwise (EINVAL/EMSGSIZE: segments larger than the path MTU, ...) just this batch.
    for (const auto& p : batch) sendUdp(m, p);
}

const Runtime::Impl::UdpSocket* Runtime::Impl::findUdpSocket(Machine& m, const Endpoint& local) {
    uint64_t token = 0;
    if (auto it = m.udpByLocal.find(local); it != m.udpByLocal.end()) {
        token = it->second;
    } else {
        for (const auto& [bound, t] : m.udpByLocal) {
            if (bound.port == local.port && bound.ip.isUnspecified() &&
                bound.ip.family() == local.ip.family()) {
                token = t;
                break;
            }
        }
    }
    auto sock = udp.find(token);
    return sock == udp.end() ? nullptr : &sock->second;
}

void Runtime::Impl::sendUdp(Machine& m, const Packet& p) {
    const UdpSocket* found = findUdpSocket(m, p.local);
    if (!found) {
        bump(counters.droppedNoSocket);
        spdlog::debug("net: machine {}: no UDP socket at {}; datagram to {} dropped", m.id,
                      p.local.toString(), p.remote.toString());
        return;
    }
    const UdpSocket& s = *found;
    if (p.remote.ip.family() != s.bound.ip.family() || p.remote.port == 0) {
        bump(counters.udpTxDropped);
        spdlog::debug("net: cannot send from {} to {}", s.bound.toString(), p.remote.toString());
        return;
    }
    sockaddr_storage ss;
    socklen_t len = toSockaddr(p.remote, s.scopeId, ss);
    ssize_t n;
    do {
        n = ::sendto(s.fd, p.data.data(), p.data.size(), MSG_DONTWAIT,
                     reinterpret_cast<const sockaddr*>(&ss), len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        // UDP semantics: a full buffer or an unreachable network loses the datagram.
        bump(counters.udpTxDropped);
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
            spdlog::debug("net: sendto {} -> {}: {}", s.bound.toString(), p.remote.toString(),
                          errnoText(errno));
        return;
    }
    bump(counters.udpTx);
    bump(counters.bytesTx, uint64_t(n));
}

void Runtime::Impl::onUdpReadable(uint64_t token) {
    for (int batch = 0; batch < kUdpBatchesPerWake; ++batch) {
        auto it = udp.find(token);
        if (it == udp.end()) return;
        // Copies: delivering may open or close sockets and rehash `udp`.
        const int fd = it->second.fd;
        const Endpoint bound = it->second.bound;
        const MachineId owner = it->second.owner;
        for (int i = 0; i < kUdpBatch; ++i) {
            iovs[i] = {udpRx.data() + size_t(i) * kMaxDatagram, kMaxDatagram};
            msgs[i].msg_hdr = {};
            msgs[i].msg_hdr.msg_iov = &iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &addrs[i];
            msgs[i].msg_hdr.msg_namelen = sizeof addrs[i];
            msgs[i].msg_len = 0;
        }
        int n = ::recvmmsg(fd, msgs, kUdpBatch, MSG_DONTWAIT, nullptr);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                spdlog::debug("net: recvmmsg on {}: {}", bound.toString(), errnoText(errno));
            return;
        }
        for (int i = 0; i < n; ++i) {
            if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
                spdlog::debug("net: oversized datagram on {} dropped", bound.toString());
                continue;
            }
            auto from = Endpoint::fromSockaddr(reinterpret_cast<const sockaddr*>(&addrs[i]));
            if (!from) continue;
            if (!udp.count(token)) return;  // closed while delivering the batch
            auto m = findMachine(owner);
            if (!m) return;
            size_t len = msgs[i].msg_len;
            bump(counters.udpRx);
            bump(counters.bytesRx, len);
            PacketView view{TransportProtocol::Udp, bound, *from,
                            ByteView(udpRx.data() + size_t(i) * kMaxDatagram, len)};
            guarded("handlePacket", [&] { m->machine->handlePacket(Clock::now(), view); });
            afterInput(m);
        }
        if (n < kUdpBatch) return;
    }
}

void Runtime::Impl::closeUdpSocket(uint64_t token) {
    auto it = udp.find(token);
    if (it == udp.end()) return;
    if (auto m = machines.find(it->second.owner); m != machines.end())
        m->second->udpByLocal.erase(it->second.bound);
    epoll_ctl(epfd, EPOLL_CTL_DEL, it->second.fd, nullptr);
    ::close(it->second.fd);
    spdlog::debug("net: UDP socket {} closed", it->second.bound.toString());
    udp.erase(it);
}

// ===== streams
// ====================================================================================

void Runtime::Impl::notifyStream(MachineId owner, TransportProtocol protocol,
                                 const IpAddress& localIp, const Endpoint& remote,
                                 StreamState state) {
    if (state == StreamState::Failed) bump(counters.streamFailures);
    if (state == StreamState::Connected) bump(counters.streamConnects);
    auto deliver = [this, owner, protocol, localIp, remote, state] {
        auto m = findMachine(owner);
        if (!m) return;
        guarded("handleStreamState", [&] {
            m->machine->handleStreamState(Clock::now(), protocol, Endpoint{localIp, 0}, remote,
                                          state);
        });
        afterInput(m);
    };
    // Inside a machine's drain the state change waits, so that no machine call nests in another.
    if (machineDepth > 0)
        deferred.push_back(std::move(deliver));
    else
        deliver();
}

Runtime::Impl::Stream* Runtime::Impl::openStream(Machine& m, TransportProtocol protocol,
                                                 const IpAddress& localIp, const Endpoint& remote) {
    auto fail = [&](const std::string& why) -> Stream* {
        spdlog::info("net: {} stream {} -> {} failed: {}", toString(protocol), localIp.toString(),
                     remote.toString(), why);
        notifyStream(m.id, protocol, localIp, remote, StreamState::Failed);
        return nullptr;
    };
    if (remote.port == 0 || remote.ip.isUnspecified() || remote.ip.isMulticast())
        return fail("invalid remote address");
    if (!localIp.isUnspecified() && localIp.family() != remote.ip.family())
        return fail("local and remote address families differ");

    auto s = std::make_unique<Stream>();
    s->token = nextToken++;
    s->owner = m.id;
    s->protocol = protocol;
    s->localIp = localIp;
    s->remote = remote;
    if (protocol == TransportProtocol::Tls) {
        if (auto it = tlsDestinations.find(remote); it != tlsDestinations.end())
            s->tls = it->second;
        requestTlsContext(s->tls.caFile);  // load it while TCP connects
    }

    int family = remote.ip.isV4() ? AF_INET : AF_INET6;
    s->fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) return fail("socket: " + errnoText(errno));
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint32_t scopeId = scopeIdOf(localIp);
    if (!localIp.isUnspecified()) {
        // Pick the port at connect() time: bind() would reserve one per (local ip).
        setsockopt(s->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_storage ss;
        socklen_t len = toSockaddr(Endpoint{localIp, 0}, scopeId, ss);
        if (::bind(s->fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0)
            return fail("bind " + localIp.toString() + ": " + errnoText(errno));
    }
    sockaddr_storage ss;
    socklen_t len = toSockaddr(remote, scopeId, ss);
    if (::connect(s->fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS)
        return fail("connect: " + errnoText(errno));
    // Connected or not, EPOLLOUT tells (SO_ERROR has the outcome).
    s->events = EPOLLOUT;
    epoll_event ev{};
    ev.events = s->events;
    ev.data.u64 = s->token;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev) != 0)
        return fail("epoll_ctl: " + errnoText(errno));

    uint64_t token = s->token;
    addTimer(Clock::now() + config.connectTimeout, [this, token] {
        auto it = streams.find(token);
        if (it == streams.end() || it->second->fd < 0) return;
        Stream& st = *it->second;
        if (st.phase == Phase::Connecting || st.phase == Phase::Handshaking)
            endStream(st, st.phase == Phase::Connecting ? "connect timed out"
                                                        : "TLS handshake timed out");
    });
    spdlog::debug("net: {} stream {} -> {} connecting", toString(protocol), localIp.toString(),
                  remote.toString());
    m.streamByKey[StreamKey{protocol, localIp, remote}] = token;
    Stream* raw = s.get();
    streams.emplace(token, std::move(s));
    return raw;
}

Runtime::Impl::TlsContext& Runtime::Impl::requestTlsContext(const std::string& caFile) {
    auto [it, inserted] = tlsContexts.try_emplace(caFile);
    if (inserted) {
        std::vector<std::string> files{config.defaultCaFile, caFile};
        tlsLoaders.emplace_back([this, caFile, files] {
            std::string error;
            SslCtxPtr ctx = makeClientContext(files, &error);
            enqueue([this, caFile, ctx, error] { onTlsContextReady(caFile, ctx, error); });
        });
    }
    return it->second;
}

void Runtime::Impl::onTlsContextReady(const std::string& caFile, SslCtxPtr ctx, std::string error) {
    TlsContext& c = tlsContexts[caFile];
    if (!ctx) spdlog::error("net: TLS: {}", error);
    c.ctx = std::move(ctx);
    c.error = std::move(error);
    c.ready = true;
    for (uint64_t token : std::exchange(c.waiting, {})) {
        auto it = streams.find(token);
        if (it == streams.end()) continue;
        Stream& s = *it->second;
        if (s.fd >= 0 && s.phase == Phase::Handshaking && !s.ssl) startTls(s);
    }
}

void Runtime::Impl::startTls(Stream& s) {
    TlsContext& c = requestTlsContext(s.tls.caFile);
    if (!c.ready) {
        c.waiting.push_back(s.token);
        return;
    }
    std::string error;
    if (!c.ctx)
        error = c.error;
    else if (!setupTls(s, c.ctx.get(), &error))
        error = "TLS setup: " + error;
    if (!error.empty()) {
        endStream(s, error);
        return;
    }
    tlsHandshake(s);
}

bool Runtime::Impl::setupTls(Stream& s, SSL_CTX* ctx, std::string* error) {
    const TlsOptions& options = s.tls;
    ERR_clear_error();
    s.ssl = SSL_new(ctx);
    BIO* rbio = BIO_new(BIO_s_mem());
    BIO* wbio = BIO_new(BIO_s_mem());
    if (!s.ssl || !rbio || !wbio) {
        BIO_free(rbio);
        BIO_free(wbio);
        *error = "SSL_new: " + opensslErrors();
        return false;
    }
    BIO_set_mem_eof_return(rbio, -1);  // empty means "want more", not EOF
    SSL_set_bio(s.ssl, rbio, wbio);
    s.rbio = rbio;
    s.wbio = wbio;
    SSL_set_connect_state(s.ssl);

    std::string identity = options.serverName;
    std::optional<IpAddress> ipIdentity =
        identity.empty() ? std::optional<IpAddress>(s.remote.ip) : IpAddress::parse(identity);
    if (!ipIdentity && SSL_set_tlsext_host_name(s.ssl, identity.c_str()) != 1) {
        *error = "invalid TLS server name";
        return false;
    }
    if (!options.verifyPeer) {
        spdlog::warn("net: TLS to {}: certificate verification is off", s.remote.toString());
        SSL_set_verify(s.ssl, SSL_VERIFY_NONE, nullptr);
        return true;
    }
    SSL_set_verify(s.ssl, SSL_VERIFY_PEER, nullptr);
    bool ok = ipIdentity ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s.ssl),
                                                         ipIdentity->toString().c_str()) == 1
                         : SSL_set1_host(s.ssl, identity.c_str()) == 1;
    if (!ok) {
        *error = "cannot set the TLS identity to verify: " + opensslErrors();
        return false;
    }
    return true;
}

bool Runtime::Impl::checkBufferLimit(Stream& s) {
    if (s.unsent() <= config.maxStreamBufferBytes) return true;
    endStream(s, "send buffer overflow (the peer does not read)");
    return false;
}

void Runtime::Impl::writeStream(Stream& s, ByteView data) {
    if (data.empty() || s.fd < 0 || s.phase == Phase::Lingering) return;
    if (s.protocol == TransportProtocol::Tls) {
        if (s.phase != Phase::Open) {
            appendBytes(s.pendingPlain, data);
            checkBufferLimit(s);
            return;
        }
        tlsWrite(s, data);
        return;
    }
    appendBytes(s.out, data);
    if (!checkBufferLimit(s)) return;
    if (s.phase == Phase::Open) flushOut(s);
}

void Runtime::Impl::updateInterest(Stream& s) {
    if (s.fd < 0) return;
    uint32_t want = 0;
    if (s.phase == Phase::Connecting) {
        want = EPOLLOUT;
    } else {
        want = EPOLLIN;
        if (s.outOff < s.out.size()) want |= EPOLLOUT;
    }
    if (want == s.events) return;
    epoll_event ev{};
    ev.events = want;
    ev.data.u64 = s.token;
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, s.fd, &ev) != 0) {
        endStream(s, "epoll_ctl: " + errnoText(errno));
        return;
    }
    s.events = want;
}

void Runtime::Impl::flushOut(Stream& s) {
    if (s.fd < 0 || s.phase == Phase::Connecting) return;
    while (s.outOff < s.out.size()) {
        ssize_t n = ::send(s.fd, s.out.data() + s.outOff, s.out.size() - s.outOff,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            s.outOff += size_t(n);
            bump(counters.bytesTx, uint64_t(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        endStream(s, "send: " + errnoText(n < 0 ? errno : EPIPE));
        return;
    }
    if (s.outOff == s.out.size()) {
        s.out.clear();
        s.outOff = 0;
    } else if (s.outOff > kCompactThreshold) {
        s.out.erase(s.out.begin(), s.out.begin() + std::ptrdiff_t(s.outOff));
        s.outOff = 0;
    }
    if (s.phase == Phase::Lingering && s.out.empty() && !s.shutdownSent) {
        // All sent: half-close and wait for the peer's FIN (or the linger timer), so that
        // unread input does not turn our close into a reset that loses the tail.
        ::shutdown(s.fd, SHUT_WR);
        s.shutdownSent = true;
    }
    updateInterest(s);
}

void Runtime::Impl::onStreamEvent(uint64_t token, uint32_t events) {
    auto it = streams.find(token);
    if (it == streams.end() || it->second->fd < 0) return;
    Stream& s = *it->second;
    if (s.phase == Phase::Connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err) {
            endStream(s, "connect: " + errnoText(err));
            return;
        }
        if (!(events & EPOLLOUT)) {
            if (events & (EPOLLERR | EPOLLHUP)) endStream(s, "connect: connection error");
            return;
        }
        onTcpConnected(s);
        return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        readStream(s);
        if (s.fd < 0) return;
    }
    if (events & EPOLLOUT) flushOut(s);
}

void Runtime::Impl::onTcpConnected(Stream& s) {
    spdlog::debug("net: {} stream -> {} TCP connected", toString(s.protocol), s.remote.toString());
    if (s.protocol == TransportProtocol::Tls) {
        s.phase = Phase::Handshaking;
        updateInterest(s);
        startTls(s);
        return;
    }
    s.phase = Phase::Open;
    s.wasOpen = true;
    updateInterest(s);
    notifyStream(s.owner, s.protocol, s.localIp, s.remote, StreamState::Connected);
    if (s.fd >= 0 && s.phase == Phase::Open) flushOut(s);
}

void Runtime::Impl::deliverStreamData(Stream& s, ByteView data) {
    auto m = findMachine(s.owner);
    if (!m) return;
    PacketView view{s.protocol, Endpoint{s.localIp, 0}, s.remote, data};
    guarded("handlePacket", [&] { m->machine->handlePacket(Clock::now(), view); });
    afterInput(m);
}

void Runtime::Impl::readStream(Stream& s) {
    for (int i = 0; i < kStreamReadsPerWake && s.fd >= 0; ++i) {
        ssize_t n = ::recv(s.fd, streamRx.data(), streamRx.size(), MSG_DONTWAIT);
        if (n > 0) {
            bump(counters.bytesRx, uint64_t(n));
            if (s.phase == Phase::Lingering) continue;  // closed by us: discard
            ByteView chunk(streamRx.data(), size_t(n));
            if (s.protocol == TransportProtocol::Tcp) {
                deliverStreamData(s, chunk);
                continue;
            }
            if (!s.ssl) {  // the server spoke first, before our ClientHello
                endStream(s, "TLS: unexpected data before the handshake");
                return;
            }
            if (BIO_write(s.rbio, chunk.data(), int(chunk.size())) != int(chunk.size())) {
                endStream(s, "TLS: BIO_write failed");
                return;
            }
            if (s.phase == Phase::Handshaking)
                tlsHandshake(s);
            else
                tlsReadApp(s);
            continue;
        }
        if (n == 0) {
            onPeerClosed(s);
            return;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        endStream(s, "recv: " + errnoText(errno));
        return;
    }
}

void Runtime::Impl::takeTlsOutput(Stream& s) {
    size_t pending = BIO_ctrl_pending(s.wbio);
    if (pending == 0) return;
    size_t old = s.out.size();
    s.out.resize(old + pending);
    int n = BIO_read(s.wbio, s.out.data() + old, int(pending));
    s.out.resize(old + size_t(std::max(n, 0)));
}

void Runtime::Impl::tlsHandshake(Stream& s) {
    ERR_clear_error();
    int r = SSL_do_handshake(s.ssl);
    int err = SSL_get_error(s.ssl, r);
    std::string why;
    if (r != 1 && err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        long verify = SSL_get_verify_result(s.ssl);
        why = verify != X509_V_OK ? std::string("certificate verification failed: ") +
                                        X509_verify_cert_error_string(verify)
                                  : opensslErrors();
    }
    takeTlsOutput(s);  // the next flight, or the alert that tells the server why
    flushOut(s);
    if (s.fd < 0) return;
    if (!why.empty()) {
        endStream(s, "TLS handshake: " + why);
        return;
    }
    if (r != 1) return;

    s.phase = Phase::Open;
    s.wasOpen = true;
    spdlog::debug("net: TLS stream -> {} up ({}, {})", s.remote.toString(), SSL_get_version(s.ssl),
                  SSL_get_cipher_name(s.ssl));
    notifyStream(s.owner, s.protocol, s.localIp, s.remote, StreamState::Connected);
    if (s.fd < 0 || s.phase != Phase::Open) return;
    if (!s.pendingPlain.empty()) {
        Bytes plain = std::move(s.pendingPlain);
        s.pendingPlain.clear();
        tlsWrite(s, plain);
        if (s.fd < 0 || s.phase != Phase::Open) return;
    }
    tlsReadApp(s);  // application data that came with the server's last flight
}

void Runtime::Impl::tlsReadApp(Stream& s) {
    while (s.fd >= 0 && s.phase == Phase::Open) {
        ERR_clear_error();
        int n = SSL_read(s.ssl, plainRx.data(), int(plainRx.size()));
        if (n > 0) {
            deliverStreamData(s, ByteView(plainRx.data(), size_t(n)));
            continue;
        }
        int err = SSL_get_error(s.ssl, n);
        std::string why = err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_WANT_READ
                              ? std::string()
                              : opensslErrors();
        takeTlsOutput(s);  // e.g. a KeyUpdate answer
        flushOut(s);
        if (s.fd < 0) return;
        if (err == SSL_ERROR_WANT_READ) return;
        if (err == SSL_ERROR_ZERO_RETURN) {
            onPeerClosed(s);
            return;
        }
        endStream(s, "TLS: " + why);
        return;
    }
}

void Runtime::Impl::tlsWrite(Stream& s, ByteView data) {
    ERR_clear_error();
    // A memory BIO takes everything, so SSL_write either writes all of it or fails.
    int n = SSL_write(s.ssl, data.data(), int(data.size()));
    if (n <= 0) {
        endStream(s, "TLS write: " + opensslErrors());
        return;
    }
    takeTlsOutput(s);
    if (!checkBufferLimit(s)) return;
    flushOut(s);
}

void Runtime::Impl::onPeerClosed(Stream& s) {
    if (s.phase == Phase::Lingering) {
        retireStream(s);
        return;
    }
    endStream(s, s.phase == Phase::Open ? "closed by the peer" : "connection closed by the peer");
}

void Runtime::Impl::endStream(Stream& s, const std::string& reason) {
    if (s.fd < 0) return;
    bool report = s.phase != Phase::Lingering;
    StreamState state = s.wasOpen ? StreamState::Closed : StreamState::Failed;
    if (report && state == StreamState::Failed)
        spdlog::warn("net: {} stream {} -> {} failed: {}", toString(s.protocol),
                     s.localIp.toString(), s.remote.toString(), reason);
    else
        spdlog::debug("net: {} stream {} -> {} closed: {}", toString(s.protocol),
                      s.localIp.toString(), s.remote.toString(), reason);
    MachineId owner = s.owner;
    TransportProtocol protocol = s.protocol;
    IpAddress localIp = s.localIp;
    Endpoint remote = s.remote;
    retireStream(s);
    if (report) notifyStream(owner, protocol, localIp, remote, state);
}

void Runtime::Impl::beginLinger(Stream& s) {
    if (s.fd < 0 || s.phase == Phase::Lingering) return;
    bool wasOpen = s.phase == Phase::Open;
    if (auto m = machines.find(s.owner); m != machines.end()) {
        auto& byKey = m->second->streamByKey;
        auto it = byKey.find(StreamKey{s.protocol, s.localIp, s.remote});
        if (it != byKey.end() && it->second == s.token) byKey.erase(it);
    }
    s.phase = Phase::Lingering;
    s.pendingPlain.clear();
    if (!wasOpen) {
        retireStream(s);
        return;
    }
    if (s.ssl) {
        ERR_clear_error();
        SSL_shutdown(s.ssl);  // queues close_notify
        takeTlsOutput(s);
    }
    uint64_t token = s.token;
    addTimer(Clock::now() + config.closeLinger, [this, token] {
        auto it = streams.find(token);
        if (it != streams.end() && it->second->fd >= 0) retireStream(*it->second);
    });
    flushOut(s);
}

void Runtime::Impl::retireStream(Stream& s) {
    if (s.fd < 0) return;
    if (auto m = machines.find(s.owner); m != machines.end()) {
        auto& byKey = m->second->streamByKey;
        auto it = byKey.find(StreamKey{s.protocol, s.localIp, s.remote});
        if (it != byKey.end() && it->second == s.token) byKey.erase(it);
    }
    epoll_ctl(epfd, EPOLL_CTL_DEL, s.fd, nullptr);
    ::close(s.fd);
    s.fd = -1;
    if (s.ssl) {
        SSL_free(s.ssl);
        s.ssl = nullptr;
        s.rbio = s.wbio = nullptr;
    }
    s.out.clear();
    s.pendingPlain.clear();
    retiredStreams.push_back(s.token);
}

// ===== mDNS
// =======================================================================================

void Runtime::Impl::startMdns(std::string name, std::function<void(std::optional<IpAddress>)> done,
                              Duration timeout) {
    auto q = std::make_unique<MdnsQuery>();
    q->id = nextToken++;
    q->name = std::move(name);
    q->done = std::move(done);
    q->query = buildMdnsQuery(q->name, uint16_t(Random().next32()));
    uint64_t id = q->id;
    mdnsQueries.emplace(id, std::move(q));
    MdnsQuery& query = *mdnsQueries[id];
    if (query.query.empty()) {
        spdlog::debug("net: mDNS: invalid name");
        deferred.push_back([this, id] { finishMdns(id, std::nullopt); });
        return;
    }
    for (bool v6 : {false, true}) {
        int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        int ttl = 255, loop = 1, one = 1;  // RFC 6762 §11: TTL 255
        if (v6) {
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
            setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof ttl);
            setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof loop);
        } else {
            setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
            setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);
        }
        sockaddr_storage ss;
        socklen_t len = Endpoint{v6 ? IpAddress::anyV6() : IpAddress::anyV4(), 0}.toSockaddr(ss);
        MdnsSocket ms{nextToken++, fd, v6};
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = ms.token;
        if (::bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0 ||
            epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            ::close(fd);
            continue;
        }
        query.sockets.push_back(ms);
        mdnsSockets[ms.token] = id;
    }
    if (sendMdns(query) == 0) {
        deferred.push_back([this, id] { finishMdns(id, std::nullopt); });
        return;
    }
    // One-shot querier: two retransmissions inside the timeout (RFC 6762 §5.1 allows it).
    Timestamp start = Clock::now();
    for (int k = 1; k <= 2; ++k) {
        addTimer(start + timeout * k / 3, [this, id] {
            auto it = mdnsQueries.find(id);
            if (it != mdnsQueries.end() && sendMdns(*it->second) == 0) finishMdns(id, std::nullopt);
        });
    }
    addTimer(start + timeout, [this, id] {
        if (mdnsQueries.count(id)) spdlog::debug("net: mDNS query timed out");
        finishMdns(id, std::nullopt);
    });
}

size_t Runtime::Impl::sendMdns(MdnsQuery& q) {
    static const Endpoint kGroupV4{IpAddress::v4(224, 0, 0, 251), kMdnsPort};
    static const Endpoint kGroupV6{*IpAddress::parse("ff02::fb"), kMdnsPort};
    size_t sent = 0;
    for (auto it = q.sockets.begin(); it != q.sockets.end();) {
        const Endpoint& group = it->v6 ? kGroupV6 : kGroupV4;
        sockaddr_storage ss;
        socklen_t len = group.toSockaddr(ss);
        ssize_t n = ::sendto(it->fd, q.query.data(), q.query.size(), MSG_DONTWAIT,
                             reinterpret_cast<const sockaddr*>(&ss), len);
        if (n >= 0 || errno == EAGAIN || errno == ENOBUFS) {
            if (n >= 0) bump(counters.bytesTx, uint64_t(n));
            ++sent;
            ++it;
            continue;
        }
        // Typically ENETUNREACH: no multicast route (a namespace with only `lo`).
        spdlog::debug("net: mDNS query to {} not sent: {}", group.toString(), errnoText(errno));
        mdnsSockets.erase(it->token);
        epoll_ctl(epfd, EPOLL_CTL_DEL, it->fd, nullptr);
        ::close(it->fd);
        it = q.sockets.erase(it);
    }
    return sent;
}

void Runtime::Impl::onMdnsReadable(uint64_t token) {
    auto qs = mdnsSockets.find(token);
    if (qs == mdnsSockets.end()) return;
    uint64_t id = qs->second;
    auto q = mdnsQueries.find(id);
    if (q == mdnsQueries.end()) return;
    int fd = -1;
    for (const auto& s : q->second->sockets)
        if (s.token == token) fd = s.fd;
    if (fd < 0) return;
    for (int i = 0; i < kUdpBatch; ++i) {
        ssize_t n = ::recv(fd, udpRx.data(), kMaxDatagram, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        bump(counters.bytesRx, uint64_t(n));
        auto found = parseMdnsAnswer(ByteView(udpRx.data(), size_t(n)), q->second->name);
        if (!found.empty()) {
            finishMdns(id, found.front());
            return;
        }
    }
}

void Runtime::Impl::finishMdns(uint64_t queryId, std::optional<IpAddress> result) {
    auto it = mdnsQueries.find(queryId);
    if (it == mdnsQueries.end()) return;
    std::unique_ptr<MdnsQuery> q = std::move(it->second);
    mdnsQueries.erase(it);
    for (const auto& s : q->sockets) {
        mdnsSockets.erase(s.token);
        epoll_ctl(epfd, EPOLL_CTL_DEL, s.fd, nullptr);
        ::close(s.fd);
    }
    if (q->done) guarded("resolveMdns callback", [&] { q->done(result); });
}

// ===== public API
// =================================================================================

Runtime::Runtime(RuntimeConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Runtime::~Runtime() {
    impl_->stop();
}

void Runtime::start() {
    impl_->start();
}
void Runtime::stop() {
    impl_->stop();
}
void Runtime::run() {
    impl_->run();
}
bool Runtime::onLoopThread() const {
    return impl_->onLoopThread();
}

MachineId Runtime::attach(SansIoMachine& m, std::function<void()> onActivity) {
    auto entry = std::make_shared<Impl::Machine>();
    entry->id = impl_->nextMachineId++;
    entry->machine = &m;
    entry->onActivity = std::move(onActivity);
    {
        std::lock_guard lk(impl_->liveMu);
        impl_->liveIds.insert(entry->id);
    }
    Impl* impl = impl_.get();
    impl->execOnLoop(
        [impl, entry] {
            impl->machines[entry->id] = entry;
            // Its first transmits and deadline, once the current dispatch is over.
            impl->deferred.push_back([impl, id = entry->id] {
                if (auto m = impl->findMachine(id)) impl->afterInput(m);
            });
            spdlog::debug("net: machine {} attached", entry->id);
        },
        false);
    return entry->id;
}

void Runtime::detach(MachineId id) {
    {
        std::lock_guard lk(impl_->liveMu);
        if (!impl_->liveIds.erase(id)) return;
    }
    Impl* impl = impl_.get();
    impl->execOnLoop([impl, id] { impl->detachNow(id); }, true);
}

std::optional<Endpoint> Runtime::openUdp(MachineId id, const Endpoint& bind, std::string* error) {
    auto fail = [&](std::string why) -> std::optional<Endpoint> {
        spdlog::debug("net: openUdp {}: {}", bind.toString(), why);
        if (error) *error = std::move(why);
        return std::nullopt;
    };
    {
        std::lock_guard lk(impl_->liveMu);
        if (!impl_->liveIds.count(id)) return fail("unknown machine");
    }
    if (bind.ip.isMulticast() || bind.ip.isV4Mapped()) return fail("cannot bind to that address");
    uint32_t scopeId = 0;
    if (bind.ip.isV6() && bind.ip.isLinkLocal()) {
        scopeId = scopeIdOf(bind.ip);
        if (!scopeId) return fail("no interface holds " + bind.ip.toString());
    }
    int fd =
        ::socket(bind.ip.isV4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail("socket: " + errnoText(errno));
    int bytes = impl_->config.udpSocketBufferBytes;
    if (bytes > 0) {
        setSocketBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, bytes);
        setSocketBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, bytes);
    }
    if (bind.ip.isV6()) {
        int one = 1;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    sockaddr_storage ss;
    socklen_t len = toSockaddr(bind, scopeId, ss);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
        int err = errno;
        ::close(fd);
        return fail("bind: " + errnoText(err));
    }
    sockaddr_storage actual{};
    socklen_t actualLen = sizeof actual;
    std::optional<Endpoint> bound;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&actual), &actualLen) == 0)
        bound = Endpoint::fromSockaddr(reinterpret_cast<const sockaddr*>(&actual));
    if (!bound) {
        int err = errno;
        ::close(fd);
        return fail("getsockname: " + errnoText(err));
    }
    Impl* impl = impl_.get();
    Impl::UdpSocket sock{fd, *bound, scopeId, id};
    impl->execOnLoop(
        [impl, sock] {
            auto m = impl->findMachine(sock.owner);
            uint64_t token = impl->nextToken++;
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u64 = token;
            if (!m || epoll_ctl(impl->epfd, EPOLL_CTL_ADD, sock.fd, &ev) != 0) {
                spdlog::debug("net: UDP socket {} not registered (machine gone or epoll error)",
                              sock.bound.toString());
                ::close(sock.fd);
                return;
            }
            impl->udp.emplace(token, sock);
            m->udpByLocal[sock.bound] = token;
            spdlog::debug("net: machine {}: UDP socket {} open", sock.owner, sock.bound.toString());
        },
        false);
    return bound;
}

void Runtime::closeUdp(MachineId id, const Endpoint& local) {
    Impl* impl = impl_.get();
    impl->execOnLoop(
        [impl, id, local] {
            auto m = impl->findMachine(id);
            if (!m) return;
            auto it = m->udpByLocal.find(local);
            if (it != m->udpByLocal.end()) impl->closeUdpSocket(it->second);
        },
        false);
}

void Runtime::closeStream(MachineId id, TransportProtocol protocol, const Endpoint& local,
                          const Endpoint& remote) {
    Impl* impl = impl_.get();
    impl->execOnLoop(
        [impl, id, protocol, localIp = local.ip, remote] {
            auto m = impl->findMachine(id);
            if (!m) return;
            auto it = m->streamByKey.find(StreamKey{protocol, localIp, remote});
            if (it == m->streamByKey.end()) return;
            auto s = impl->streams.find(it->second);
            if (s != impl->streams.end()) impl->beginLinger(*s->second);
        },
        false);
}

bool Runtime::setTlsOptions(const Endpoint& remote, TlsOptions options, std::string* error) {
    bool ok = true;
    if (!options.caFile.empty()) {
        // Just this file, to report errors now; the full context is built off the loop.
        ERR_clear_error();
        X509_STORE* store = X509_STORE_new();
        ok = store && X509_STORE_load_file(store, options.caFile.c_str()) == 1;
        X509_STORE_free(store);
        if (!ok) {
            std::string why = "cannot load CA file " + options.caFile + ": " + opensslErrors();
            spdlog::warn("net: TLS options for {}: {}", remote.toString(), why);
            if (error) *error = why;
        }
    }
    Impl* impl = impl_.get();
    impl->execOnLoop(
        [impl, remote, options] {
            impl->tlsDestinations[remote] = options;
            impl->requestTlsContext(options.caFile);
        },
        false);
    return ok;
}

void Runtime::post(std::function<void()> fn) {
    impl_->enqueue(std::move(fn));
}

void Runtime::resolveMdns(const std::string& name,
                          std::function<void(std::optional<IpAddress>)> done, Duration timeout) {
    Impl* impl = impl_.get();
    impl->execOnLoop(
        [impl, name, done = std::move(done), timeout]() mutable {
            impl->startMdns(std::move(name), std::move(done), timeout);
        },
        false);
}

RuntimeStats Runtime::stats() const {
    const Counters& c = impl_->counters;
    auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    return RuntimeStats{get(c.udpRx),          get(c.udpTx),          get(c.udpTxDropped),
                        get(c.bytesRx),        get(c.bytesTx),        get(c.streamConnects),
                        get(c.streamFailures), get(c.droppedNoSocket)};
}

}  // namespace tincan::net
