// Runtime's insides, shared by the files that implement them (internal; not
// installed):
//   loop.cpp          the epoll loop, the eventfd wake-up, posted work, timers,
//   machine drains udp_socket.cpp    UDP sockets: bind, recvmmsg, sendto and
//   UDP GSO batches stream.cpp        TCP streams: connect, buffered writes,
//   reads, linger and close tls_stream.cpp    TLS on top of a stream over
//   memory BIOs, trust stores loaded off the loop mdns_io.cpp       the sockets
//   of MdnsResolver (mdns_resolver.hpp), the sans-IO querier runtime.cpp the
//   public API, which posts into the above
// Everything here runs on the loop thread (or under queueMu while no loop
// runs), except the members documented otherwise.
#pragma once

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <openssl/types.h>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/common/random.hpp"
#include "core/net/mdns_resolver.hpp"
#include "core/net/runtime.hpp"

namespace tincan::net {
namespace detail {

constexpr int kMaxEvents = 64;
constexpr int kUdpBatch = 16;
constexpr size_t kMaxDatagram = 65536;
constexpr size_t kStreamChunk = 64 * 1024;

inline std::string errnoText(int err) {
    return std::system_category().message(err);
}

// The interface index for an IPv6 link-local address held by this host (0:
// none).
uint32_t scopeIdOf(const IpAddress& ip);
socklen_t toSockaddr(const Endpoint& ep, uint32_t scopeId, sockaddr_storage& ss);

// Exceptions from machines and callbacks stop at the loop boundary, logged.
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

// RuntimeStats, readable from any thread.
struct Counters {
    std::atomic<uint64_t> udpRx{0}, udpTx{0}, udpTxDropped{0}, bytesRx{0}, bytesTx{0},
        streamConnects{0}, streamFailures{0}, droppedNoSocket{0};
};

inline void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.fetch_add(n, std::memory_order_relaxed);
}

using StreamKey = std::tuple<TransportProtocol, IpAddress, Endpoint>;
using SslCtxPtr = std::shared_ptr<SSL_CTX>;

}  // namespace detail

struct Runtime::Impl {
    using Counters = detail::Counters;
    using StreamKey = detail::StreamKey;
    using SslCtxPtr = detail::SslCtxPtr;

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
        Bytes pendingPlain;  // TLS application data written before the handshake
                             // completed
        TlsOptions tls;
        SSL* ssl = nullptr;
        BIO* wbio = nullptr;  // owned by ssl; so is the read BIO
        BIO* rbio = nullptr;

        size_t unsent() const { return out.size() - outOff + pendingPlain.size(); }
        ~Stream();
    };

    // An SSL_CTX per extra CA file ("" = none). Building one reads the system
    // store, which takes ~80 ms (OpenSSL 3 parses the whole bundle), so it
    // happens on a helper thread, in parallel with the TCP connect, and only once
    // a TLS stream or setTlsOptions() wants it.
    struct TlsContext {
        SslCtxPtr ctx;
        std::string error;  // why ctx is null
        bool ready = false;
        std::vector<uint64_t> waiting;  // streams connected before it was ready
    };

    // One query's sockets (one per family, opened on its first datagram) and its
    // callback.
    struct MdnsSocket {
        uint64_t token = 0;
        int fd = -1;
        bool v6 = false;
    };
    struct MdnsQueryIo {
        std::vector<MdnsSocket> sockets;
        std::function<void(std::optional<IpAddress>)> done;
    };

    explicit Impl(RuntimeConfig c);
    ~Impl();

    // --- threads, the queue and timers (loop.cpp)
    // -------------------------------------------
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

    // --- machines (loop.cpp)
    // ------------------------------------------------------------------
    std::shared_ptr<Machine> findMachine(MachineId id) const;
    void afterInput(const std::shared_ptr<Machine>& m);
    void drain(const std::shared_ptr<Machine>& m);
    void driveAll();
    void detachNow(MachineId id);
    void send(Machine& m, Packet&& p);

    // --- UDP (udp_socket.cpp)
    // ----------------------------------------------------------------- Creates
    // and binds a socket (any thread); registering it is the loop's job.
    Result<UdpSocket> bindUdpSocket(MachineId owner, const Endpoint& bind);
    void registerUdpSocket(const UdpSocket& sock);
    void sendUdp(Machine& m, const Packet& p);
    const UdpSocket* findUdpSocket(Machine& m, const Endpoint& local);
    // Datagrams of the drain under way that may leave together (see
    // kGsoMaxSegments).
    bool batchable(const Packet& p) const;
    void flushUdpBatch(Machine& m);
    void onUdpReadable(uint64_t token);
    void closeUdpSocket(uint64_t token);
    std::vector<Packet> udpBatch;
    size_t udpBatchBytes = 0;
    Bytes gsoBuffer;
    int gso = -1;  // UDP_SEGMENT usable: -1 not probed yet, 0 no, 1 yes

    // --- streams (stream.cpp)
    // -----------------------------------------------------------------
    Stream* openStream(Machine& m, TransportProtocol protocol, const IpAddress& localIp,
                       const Endpoint& remote);
    void writeStream(Stream& s, ByteView data);
    void onStreamEvent(uint64_t token, uint32_t events);
    void onTcpConnected(Stream& s);
    void readStream(Stream& s);
    void deliverStreamData(Stream& s, ByteView data);
    bool checkBufferLimit(Stream& s);
    void flushOut(Stream& s);
    void updateInterest(Stream& s);
    void endStream(Stream& s, const std::string& reason);
    void onPeerClosed(Stream& s);
    void beginLinger(Stream& s);
    void retireStream(Stream& s);
    void notifyStream(MachineId owner, TransportProtocol protocol, const IpAddress& localIp,
                      const Endpoint& remote, StreamState state);

    // --- TLS (tls_stream.cpp)
    // -----------------------------------------------------------------
    TlsContext& requestTlsContext(const std::string& caFile);
    void onTlsContextReady(const std::string& caFile, SslCtxPtr ctx, std::string error);
    void startTls(Stream& s);
    Result<void> setupTls(Stream& s, SSL_CTX* ctx);
    // Feeds bytes read from the socket to OpenSSL; false if the stream ended.
    bool tlsReceive(Stream& s, ByteView chunk);
    void tlsHandshake(Stream& s);
    void tlsReadApp(Stream& s);
    void tlsWrite(Stream& s, ByteView data);
    void tlsShutdown(Stream& s);
    void takeTlsOutput(Stream& s);
    static void freeTls(Stream& s);
    // Loads just this CA file (any thread) to report errors at once.
    static Result<void> checkCaFile(const std::string& caFile);

    // --- mDNS (mdns_io.cpp)
    // -------------------------------------------------------------------
    void startMdns(std::string name, std::function<void(std::optional<IpAddress>)> done,
                   Duration timeout);
    // Sends what the resolver wants sent, then runs the callbacks of finished
    // queries.
    void driveMdns();
    void flushMdnsTransmits();
    bool sendMdns(const MdnsResolver::Transmit& t);
    const MdnsSocket* mdnsSocket(uint64_t queryId, bool v6);
    void onMdnsReadable(uint64_t token);
    void closeMdnsSockets(MdnsQueryIo& q);

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

    // Loop state: touched on the loop thread only, or under queueMu while no loop
    // runs.
    std::unordered_map<MachineId, std::shared_ptr<Machine>> machines;
    std::unordered_map<uint64_t, UdpSocket> udp;
    std::unordered_map<uint64_t, std::unique_ptr<Stream>> streams;
    Random mdnsRandom;  // query ids
    MdnsResolver mdns{mdnsRandom};
    std::unordered_map<uint64_t, MdnsQueryIo> mdnsQueries;  // resolver query id ->
    std::unordered_map<uint64_t, uint64_t> mdnsSockets;     // socket token -> query id
    std::unordered_map<Endpoint, TlsOptions> tlsDestinations;
    std::map<std::string, TlsContext> tlsContexts;
    std::map<std::pair<Timestamp, uint64_t>, std::function<void()>> timers;
    std::vector<std::function<void()>> deferred;  // run at the top of the loop
    std::vector<uint64_t> retiredStreams;         // freed at the top of the loop
    int machineDepth = 0;                         // > 0 while inside afterInput()

    Bytes udpRx;
    mmsghdr msgs[detail::kUdpBatch]{};
    iovec iovs[detail::kUdpBatch]{};
    sockaddr_storage addrs[detail::kUdpBatch]{};
    Bytes streamRx;
    Bytes plainRx;
};

}  // namespace tincan::net
