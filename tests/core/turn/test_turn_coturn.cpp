// TurnClient against a real coturn on loopback, driven through plain POSIX sockets.
//
// Each test starts its own `turnserver` with a temporary config on a random port and kills it
// by PID (SIGKILL: coturn does not always honour SIGTERM, see LAB_NOTES.md). Without coturn the
// tests skip, unless CI=true, where a missing coturn is a failure.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "core/common/random.hpp"
#include "core/stun/message.hpp"
#include "core/turn/turn_client.hpp"

extern char** environ;

using namespace tincan;
using namespace tincan::turn;
namespace fs = std::filesystem;

namespace {

constexpr const char* kRealm = "tincan.test";
constexpr const char* kUser = "alice";
constexpr const char* kPass = "s3cret-Pa55";
constexpr const char* kSecret = "tincan-rest-secret";
const IpAddress kLoopback = IpAddress::v4(127, 0, 0, 1);

std::optional<std::string> findTurnserver() {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/bin:/usr/sbin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        fs::path p = fs::path(dir) / "turnserver";
        if (!dir.empty() && ::access(p.c_str(), X_OK) == 0) return p.string();
    }
    return std::nullopt;
}

#define REQUIRE_COTURN()                                                                    \
    do {                                                                                    \
        if (!findTurnserver()) {                                                            \
            const char* ci = std::getenv("CI");                                             \
            if (ci && std::string(ci) == "true")                                            \
                FAIL() << "coturn's turnserver is not installed, and CI=true requires it";  \
            GTEST_SKIP() << "coturn's turnserver is not on PATH (apt-get install coturn); " \
                            "skipping the real-server TURN tests";                          \
        }                                                                                   \
    } while (0)

struct Fd {
    int fd = -1;
    explicit Fd(int f = -1) : fd(f) {}
    Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        std::swap(fd, o.fd);
        return *this;
    }
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

Endpoint localOf(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    return Endpoint::fromSockaddr(reinterpret_cast<sockaddr*>(&ss)).value_or(Endpoint{});
}

Fd boundSocket(int type, uint16_t port) {
    Fd s(::socket(AF_INET, type, 0));
    int one = 1;
    if (type == SOCK_STREAM) ::setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage ss{};
    unsigned len = Endpoint{kLoopback, port}.toSockaddr(ss);
    if (::bind(s.fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) return Fd();
    return s;
}

void sendUdp(int fd, const Endpoint& to, ByteView data) {
    sockaddr_storage ss{};
    unsigned len = to.toSockaddr(ss);
    ::sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&ss), len);
}

std::optional<std::pair<Endpoint, Bytes>> recvUdp(int fd) {
    Bytes buf(65536);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT,
                           reinterpret_cast<sockaddr*>(&ss), &len);
    if (n < 0) return std::nullopt;
    buf.resize(size_t(n));
    return std::make_pair(
        Endpoint::fromSockaddr(reinterpret_cast<sockaddr*>(&ss)).value_or(Endpoint{}),
        std::move(buf));
}

// One coturn process with its own directory, config and log.
class Coturn {
public:
    ~Coturn() { stop(); }

    // `auth` holds the authentication lines of the config. Returns an error, or "".
    std::string start(const std::string& auth, const std::string& extra = "") {
        char tmpl[] = "/tmp/tincan-coturn-XXXXXX";
        if (!::mkdtemp(tmpl)) return "mkdtemp failed";
        dir_ = tmpl;
        Random r;
        // A random listening port with UDP and TCP both free, and a relay range just above it,
        // away from the default 49152-65535 that other coturns on the machine use.
        for (int attempt = 0; attempt < 50 && port_ == 0; ++attempt) {
            auto p = uint16_t(20000 + r.next32() % 18000);
            Fd u = boundSocket(SOCK_DGRAM, p), t = boundSocket(SOCK_STREAM, p);
            if (u.fd >= 0 && t.fd >= 0) port_ = p;
        }
        if (port_ == 0) return "no free port";
        std::ofstream conf(dir_ / "turnserver.conf");
        conf << "listening-ip=127.0.0.1\n"
             << "listening-port=" << port_ << "\n"
             << "relay-ip=127.0.0.1\n"
             << "min-port=" << port_ + 1 << "\nmax-port=" << port_ + 200 << "\n"
             << "allow-loopback-peers\n"  // peers on 127.0.0.1
             << "no-cli\nno-tls\nno-dtls\nfingerprint\n"
             << "realm=" << kRealm << "\n"
             << auth << extra << "log-file=" << (dir_ / "turn.log").string() << "\n"
             << "simple-log\nverbose\n"
             << "pidfile=" << (dir_ / "turn.pid").string() << "\n"
             << "userdb=" << (dir_ / "turndb").string() << "\n";
        conf.close();

        std::string exe = *findTurnserver();
        std::string confPath = (dir_ / "turnserver.conf").string();
        std::string outPath = (dir_ / "stdout.txt").string();
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        std::vector<char*> argv{exe.data(), const_cast<char*>("-c"), confPath.data(), nullptr};
        int rc = posix_spawn(&pid_, exe.c_str(), &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) {
            pid_ = -1;
            return std::string("posix_spawn: ") + std::strerror(rc);
        }
        return waitReady();
    }

    void stop() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
        // TINCAN_KEEP_COTURN=1 keeps the config and log for a look afterwards.
        if (!dir_.empty() && !std::getenv("TINCAN_KEEP_COTURN")) {
            std::error_code ec;
            fs::remove_all(dir_, ec);
            dir_.clear();
        }
    }

    Endpoint endpoint() const { return Endpoint{kLoopback, port_}; }

    std::string logTail() const {
        std::ifstream in(dir_ / "turn.log");
        std::stringstream ss;
        ss << in.rdbuf();
        std::string s = ss.str();
        return s.size() > 3000 ? s.substr(s.size() - 3000) : s;
    }

private:
    // Polls until coturn answers a STUN Binding over UDP and accepts a TCP connection.
    std::string waitReady() {
        Random r;
        Fd udp = boundSocket(SOCK_DGRAM, 0);
        auto deadline = Clock::now() + 4s;
        bool udpReady = false;
        while (Clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return "turnserver exited at start: " + logTail();
            }
            if (!udpReady) {
                auto req = stun::Message::request(stun::Method::Binding, r);
                sendUdp(udp.fd, endpoint(), req.encode());
                pollfd pfd{udp.fd, POLLIN, 0};
                if (::poll(&pfd, 1, 25) > 0) {
                    while (auto got = recvUdp(udp.fd)) {
                        auto m = stun::tryParse(got->second);
                        if (m && m->transactionId() == req.transactionId()) udpReady = true;
                    }
                }
                continue;
            }
            Fd tcp(::socket(AF_INET, SOCK_STREAM, 0));
            sockaddr_storage ss{};
            unsigned len = endpoint().toSockaddr(ss);
            if (::connect(tcp.fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) return "";
            ::usleep(20000);
        }
        return "turnserver not ready after 4 s: " + logTail();
    }

    fs::path dir_;
    uint16_t port_ = 0;
    pid_t pid_ = -1;
};

// Runs a TurnClient over a real socket, plus a UDP "peer" socket, on the real clock.
class Net {
public:
    Net(TurnClient& client, const Endpoint& server) : client_(client), server_(server) {
        bool stream = client.config().transport != TransportProtocol::Udp;
        if (stream) {
            sock_ = Fd(::socket(AF_INET, SOCK_STREAM, 0));
            sockaddr_storage ss{};
            unsigned len = server.toSockaddr(ss);
            connected_ = ::connect(sock_.fd, reinterpret_cast<sockaddr*>(&ss), len) == 0;
        } else {
            sock_ = boundSocket(SOCK_DGRAM, 0);
            connected_ = sock_.fd >= 0;
        }
        peer_ = boundSocket(SOCK_DGRAM, 0);
    }

    bool connected() const { return connected_; }
    Endpoint clientLocal() const { return localOf(sock_.fd); }
    Endpoint peer() const { return localOf(peer_.fd); }
    void peerSend(const Endpoint& to, ByteView data) { sendUdp(peer_.fd, to, data); }

    std::vector<Event> events;
    std::vector<std::pair<Endpoint, Bytes>> peerInbox;

    template <class T>
    std::vector<T> eventsOf() const {
        std::vector<T> out;
        for (auto& e : events)
            if (auto* p = std::get_if<T>(&e)) out.push_back(*p);
        return out;
    }
    std::string failure() const {
        for (auto& f : eventsOf<event::Failed>())
            return "Failed{" + std::to_string(f.code) + ", " + f.reason + "}";
        return "";
    }

    // Drives everything until `done` or the budget runs out.
    bool runUntil(const std::function<bool()>& done, Duration budget = 2s) {
        auto deadline = Clock::now() + budget;
        while (true) {
            flush();
            if (done()) return true;
            auto now = Clock::now();
            if (now >= deadline) return false;
            auto wake = std::min(deadline, now + 50ms);
            if (auto t = client_.pollTimeout()) wake = std::min(wake, std::max(*t, now));
            int ms = int(std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count());
            pollfd pfds[2] = {{sock_.fd, POLLIN, 0}, {peer_.fd, POLLIN, 0}};
            ::poll(pfds, 2, std::max(ms, 0));
            now = Clock::now();
            if (pfds[0].revents) readClient(now);
            if (pfds[1].revents)
                while (auto got = recvUdp(peer_.fd)) peerInbox.push_back(std::move(*got));
            if (auto t = client_.pollTimeout(); t && *t <= Clock::now())
                client_.handleTimeout(Clock::now());
        }
    }

private:
    void flush() {
        while (auto out = client_.pollOutgoing()) {
            if (client_.config().transport == TransportProtocol::Udp) {
                sendUdp(sock_.fd, server_, *out);
            } else {
                size_t off = 0;
                while (off < out->size()) {
                    ssize_t n =
                        ::send(sock_.fd, out->data() + off, out->size() - off, MSG_NOSIGNAL);
                    if (n <= 0) break;
                    off += size_t(n);
                }
            }
        }
        while (auto e = client_.pollEvent()) events.push_back(std::move(*e));
    }

    void readClient(Timestamp now) {
        Bytes buf(65536);
        if (client_.config().transport == TransportProtocol::Udp) {
            while (auto got = recvUdp(sock_.fd))
                if (got->first == server_) client_.handleIncoming(now, got->second);
            return;
        }
        ssize_t n = ::recv(sock_.fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n > 0) {
            client_.handleIncoming(now, ByteView(buf.data(), size_t(n)));
        } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            client_.handleStreamState(now, StreamState::Closed);
        }
    }

    TurnClient& client_;
    Endpoint server_;
    Fd sock_;
    Fd peer_;
    bool connected_ = false;
};

Bytes randomBytes(Random& r, size_t n) {
    Bytes b(n);
    r.fill(b);
    return b;
}

ServerConfig configFor(const Coturn& srv, TransportProtocol t, std::string user, std::string pass) {
    ServerConfig c;
    c.server = srv.endpoint();
    c.transport = t;
    c.username = std::move(user);
    c.password = std::move(pass);
    return c;
}

// Allocates, then relays data both ways: Data indication, Send indication, then ChannelData.
void exerciseRelay(Coturn& srv, TransportProtocol transport, const std::string& user,
                   const std::string& pass) {
    Random rnd;
    TurnClient client(configFor(srv, transport, user, pass), rnd);
    Net net(client, srv.endpoint());
    ASSERT_TRUE(net.connected());
    client.start(Clock::now());
    ASSERT_TRUE(net.runUntil([&] { return client.state() != State::Allocating; }))
        << "no allocation; coturn log:\n"
        << srv.logTail();
    ASSERT_EQ(client.state(), State::Allocated) << net.failure() << "\n" << srv.logTail();
    auto allocated = net.eventsOf<event::Allocated>();
    ASSERT_EQ(allocated.size(), 1u);
    const Endpoint relayed = allocated[0].relayed;
    EXPECT_EQ(relayed.ip, kLoopback);
    EXPECT_NE(relayed.port, 0);
    EXPECT_EQ(allocated[0].mapped, net.clientLocal());
    EXPECT_GT(allocated[0].lifetime, 0s);

    const Endpoint peer = net.peer();

    // Peer → client before any channel: a Data indication.
    client.createPermission(Clock::now(), peer.ip);
    ASSERT_TRUE(net.runUntil([&] { return client.hasPermission(peer.ip); }));
    Bytes hello = randomBytes(rnd, 333);
    net.peerSend(relayed, hello);
    ASSERT_TRUE(net.runUntil([&] { return !net.eventsOf<event::PeerData>().empty(); }));
    auto pd = net.eventsOf<event::PeerData>();
    EXPECT_EQ(pd[0].peer, peer);
    EXPECT_EQ(pd[0].data, hello);
    EXPECT_EQ(client.stats().dataIndicationsReceived, 1u);

    // Client → peer before the channel is bound: a Send indication (and a ChannelBind).
    Bytes viaSend = randomBytes(rnd, 1001);
    ASSERT_TRUE(client.sendTo(Clock::now(), peer, viaSend));
    EXPECT_EQ(client.stats().sendIndicationsSent, 1u);
    ASSERT_TRUE(net.runUntil([&] { return !net.peerInbox.empty(); }));
    EXPECT_EQ(net.peerInbox[0].first, relayed);
    EXPECT_EQ(net.peerInbox[0].second, viaSend);

    // Once bound: ChannelData both ways, odd sizes (padding over TCP).
    ASSERT_TRUE(net.runUntil([&] { return client.boundChannel(peer).has_value(); }));
    EXPECT_EQ(client.boundChannel(peer), 0x4000);
    Bytes viaChannel = randomBytes(rnd, 1202 + 1);
    ASSERT_TRUE(client.sendTo(Clock::now(), peer, viaChannel));
    EXPECT_EQ(client.stats().channelDataSent, 1u);
    ASSERT_TRUE(net.runUntil([&] { return net.peerInbox.size() >= 2; }));
    EXPECT_EQ(net.peerInbox[1].first, relayed);
    EXPECT_EQ(net.peerInbox[1].second, viaChannel);

    Bytes back = randomBytes(rnd, 77);
    net.peerSend(relayed, back);
    ASSERT_TRUE(net.runUntil([&] { return net.eventsOf<event::PeerData>().size() >= 2; }));
    pd = net.eventsOf<event::PeerData>();
    EXPECT_EQ(pd[1].peer, peer);
    EXPECT_EQ(pd[1].data, back);
    EXPECT_EQ(client.stats().channelDataReceived, 1u);
    EXPECT_EQ(client.stats().malformedDropped, 0u);
    EXPECT_EQ(client.stats().integrityFailures, 0u);

    client.close(Clock::now());
    ASSERT_TRUE(net.runUntil([&] { return client.state() == State::Closed; }));
    EXPECT_EQ(net.eventsOf<event::Closed>().size(), 1u);
    EXPECT_TRUE(net.failure().empty()) << net.failure();
}

std::string staticUser() {
    return std::string("lt-cred-mech\nuser=") + kUser + ":" + kPass + "\n";
}
std::string restAuth() {
    return std::string("use-auth-secret\nstatic-auth-secret=") + kSecret + "\n";
}

}  // namespace

TEST(TurnCoturn, RelaysOverUdp) {
    REQUIRE_COTURN();
    Coturn srv;
    ASSERT_EQ(srv.start(staticUser()), "");
    exerciseRelay(srv, TransportProtocol::Udp, kUser, kPass);
}

TEST(TurnCoturn, RelaysOverTcp) {
    REQUIRE_COTURN();
    Coturn srv;
    ASSERT_EQ(srv.start(staticUser()), "");
    exerciseRelay(srv, TransportProtocol::Tcp, kUser, kPass);
}

TEST(TurnCoturn, WrongPasswordFailsWith401) {
    REQUIRE_COTURN();
    Coturn srv;
    ASSERT_EQ(srv.start(staticUser()), "");
    Random rnd;
    TurnClient client(configFor(srv, TransportProtocol::Udp, kUser, "not-the-password"), rnd);
    Net net(client, srv.endpoint());
    client.start(Clock::now());
    ASSERT_TRUE(net.runUntil([&] { return client.state() != State::Allocating; }));
    auto failed = net.eventsOf<event::Failed>();
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].code, 401) << failed[0].reason;
    EXPECT_EQ(failed[0].reason.find("not-the-password"), std::string::npos);
}

TEST(TurnCoturn, StaleNonceIsRetried) {
    REQUIRE_COTURN();
    Coturn srv;
    ASSERT_EQ(srv.start(staticUser(), "stale-nonce=1\n"), "");
    Random rnd;
    TurnClient client(configFor(srv, TransportProtocol::Udp, kUser, kPass), rnd);
    Net net(client, srv.endpoint());
    client.start(Clock::now());
    ASSERT_TRUE(net.runUntil([&] { return client.state() != State::Allocating; }));
    ASSERT_EQ(client.state(), State::Allocated) << net.failure();
    auto t = Clock::now();
    // Let the nonce go stale: coturn's clock ticks in whole seconds and a nonce with
    // stale-nonce=1 is refused once that clock is past its expiry.
    net.runUntil([&] { return Clock::now() > t + 2500ms; }, 3s);
    uint64_t sent = client.stats().requestsSent;
    client.createPermission(Clock::now(), kLoopback);
    ASSERT_TRUE(net.runUntil([&] { return client.hasPermission(kLoopback); }))
        << net.failure() << "\n"
        << srv.logTail();
    EXPECT_EQ(client.stats().requestsSent - sent, 2u) << "expected a 438 and one retry";
}

TEST(TurnCoturn, RestCredentialsWithSharedSecret) {
    REQUIRE_COTURN();
    Coturn srv;
    ASSERT_EQ(srv.start(restAuth()), "");
    Credentials c = restCredentials(kSecret, "bob", int64_t(std::time(nullptr)) + 600);
    exerciseRelay(srv, TransportProtocol::Udp, c.username, c.password);

    // Expired credentials are refused.
    Credentials old = restCredentials(kSecret, "bob", int64_t(std::time(nullptr)) - 60);
    Random rnd;
    TurnClient client(configFor(srv, TransportProtocol::Udp, old.username, old.password), rnd);
    Net net(client, srv.endpoint());
    client.start(Clock::now());
    ASSERT_TRUE(net.runUntil([&] { return client.state() != State::Allocating; }));
    EXPECT_EQ(client.state(), State::Failed);
    auto failed = net.eventsOf<event::Failed>();
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].code, 401) << failed[0].reason;
}
