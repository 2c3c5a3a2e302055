// Runtime: TCP and TLS streams against small in-test servers on loopback.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdio>
#include <future>

#include "core/net/runtime.hpp"
#include "net_test_util.hpp"

using namespace tincan;
using namespace tincan::net;
using namespace tincan::net::test;

namespace {

const IpAddress kLo = IpAddress::v4(127, 0, 0, 1);

// Blocking loopback server; runs `handler` on a thread per accepted connection. With no
// handler it never accepts (connections pile up in the backlog).
class TestServer {
public:
    using Handler = std::function<void(int fd)>;

    explicit TestServer(Handler handler, int backlog = 16) : handler_(std::move(handler)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_storage ss;
        socklen_t len = Endpoint{kLo, 0}.toSockaddr(ss);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd_, backlog) != 0)
            std::abort();
        len = sizeof ss;
        getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
        endpoint_ = *Endpoint::fromSockaddr(reinterpret_cast<sockaddr*>(&ss));
        if (handler_) acceptor_ = std::thread([this] { acceptLoop(); });
    }
    ~TestServer() {
        stop_ = true;
        if (acceptor_.joinable()) acceptor_.join();
        for (auto& w : workers_) w.join();
        ::close(fd_);
    }
    const Endpoint& endpoint() const { return endpoint_; }

private:
    void acceptLoop() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) continue;
            int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            timeval tv{3, 0};
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
            int one = 1;
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            workers_.emplace_back([this, c] {
                handler_(c);
                ::close(c);
            });
        }
    }

    Handler handler_;
    int fd_ = -1;
    Endpoint endpoint_;
    std::atomic<bool> stop_{false};
    std::thread acceptor_;
    std::vector<std::thread> workers_;
};

bool readExactly(int fd, uint8_t* out, size_t n) {
    while (n > 0) {
        ssize_t r = ::recv(fd, out, n, 0);
        if (r <= 0) return false;
        out += r;
        n -= size_t(r);
    }
    return true;
}

bool writeAll(int fd, const uint8_t* data, size_t n) {
    while (n > 0) {
        ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
        if (w <= 0) return false;
        data += w;
        n -= size_t(w);
    }
    return true;
}

Bytes frame(const std::string& payload) {
    Bytes f;
    appendU16(f, uint16_t(payload.size()));
    appendBytes(f, asBytes(payload));
    return f;
}

// Collects 2-byte-length-prefixed frames from a machine's stream bytes, as a real machine
// (TURN over TCP, ICE-TCP RFC 4571) does: chunks need not line up with frames.
void enableFraming(TestMachine& m, std::vector<std::string>& frames, Bytes& pending) {
    m.onPacket = [&frames, &pending](const PacketView& p, std::deque<Packet>&) {
        appendBytes(pending, p.data);
        while (pending.size() >= 2) {
            size_t len = readU16(pending.data());
            if (pending.size() < 2 + len) break;
            frames.emplace_back(reinterpret_cast<const char*>(pending.data() + 2), len);
            pending.erase(pending.begin(), pending.begin() + std::ptrdiff_t(2 + len));
        }
    };
}

std::vector<StreamState> statesOf(TestMachine& m) {
    std::vector<StreamState> out;
    for (auto& e : m.events()) out.push_back(e.state);
    return out;
}

}  // namespace

TEST(RuntimeTcp, FramesSurvivePartialReadsAndStatesAreReported) {
    const std::vector<std::string> payloads = {
        "a", "hello", std::string(300, 'x'), "", "tincan", std::string(1000, 'y'), "z"};
    size_t total = 0;
    for (auto& p : payloads) total += 2 + p.size();
    std::promise<Endpoint> peer;
    TestMachine m;
    TestServer server([&](int fd) {
        sockaddr_storage ss;
        socklen_t len = sizeof ss;
        getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len);
        peer.set_value(*Endpoint::fromSockaddr(reinterpret_cast<sockaddr*>(&ss)));
        Bytes all(total);
        if (!readExactly(fd, all.data(), total)) return;
        // Dribble it back in odd pieces so that frames straddle reads. Each piece waits until the
        // runtime has read the one before: a pause alone let a loaded machine (whole-suite ASan
        // next to fuzzers) read several pieces at once, and the check below failed.
        size_t off = 0, step = 1;
        while (off < total) {
            size_t n = std::min(step, total - off);
            size_t readsBefore = m.receivedCount();
            if (!writeAll(fd, all.data() + off, n)) return;
            off += n;
            step = step % 97 + 13;
            eventually([&] { return m.receivedCount() > readsBefore; });
        }
    });

    std::vector<std::string> frames;
    Bytes pending;
    enableFraming(m, frames, pending);
    Runtime rt;
    rt.start();
    MachineId id = rt.attach(m, nullptr);
    // 127.0.0.2 is on lo too: checks that the stream is bound to Packet::local's address.
    const Endpoint local{IpAddress::v4(127, 0, 0, 2), 0};
    rt.post([&] {
        for (auto& p : payloads)
            m.queue(Packet{TransportProtocol::Tcp, local, server.endpoint(), frame(p)});
    });
    ASSERT_TRUE(eventually([&] { return m.streamEventCount() == 2; }, std::chrono::seconds(3)));
    auto events = m.events();
    EXPECT_EQ(events[0].state, StreamState::Connected);
    EXPECT_EQ(events[0].bytesReceivedBefore, 0u);
    EXPECT_EQ(events[0].protocol, TransportProtocol::Tcp);
    EXPECT_EQ(events[0].local, local);
    EXPECT_EQ(events[0].remote, server.endpoint());
    EXPECT_EQ(events[1].state, StreamState::Closed);  // the server closed after echoing
    EXPECT_EQ(events[1].bytesReceivedBefore, total);
    EXPECT_EQ(peer.get_future().get().ip, local.ip);
    std::lock_guard lk(m.mu);
    EXPECT_EQ(frames, payloads);
    EXPECT_TRUE(pending.empty());
    EXPECT_GT(m.received.size(), payloads.size());  // it really came in pieces
    for (auto& r : m.received) {
        EXPECT_EQ(r.local, local);
        EXPECT_EQ(r.remote, server.endpoint());
    }
    auto st = rt.stats();
    EXPECT_EQ(st.streamConnects, 1u);
    EXPECT_EQ(st.streamFailures, 0u);
    EXPECT_EQ(st.bytesRx, total);
    EXPECT_EQ(st.bytesTx, total);
    (void)id;
}

TEST(RuntimeTcp, LargeWritesQueueUntilThePeerReadsAndStayInOrder) {
    constexpr size_t kTotal = 8 * 1024 * 1024;
    constexpr size_t kChunk = 256 * 1024;
    auto patternAt = [](size_t i) { return uint8_t((i * 2654435761u) >> 13); };
    std::atomic<bool> intact{false};
    TestServer server([&](int fd) {
        // Let the client's socket buffers fill up first: it must queue and wait for EPOLLOUT.
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        Bytes buf(kTotal);
        if (!readExactly(fd, buf.data(), kTotal)) return;
        bool ok = true;
        for (size_t i = 0; i < kTotal && ok; ++i) ok = buf[i] == patternAt(i);
        intact = ok;
        writeAll(fd, reinterpret_cast<const uint8_t*>("ok"), 2);
    });
    TestMachine m;
    Runtime rt;
    rt.start();
    rt.attach(m, nullptr);
    rt.post([&] {
        for (size_t off = 0; off < kTotal; off += kChunk) {
            Bytes chunk(kChunk);
            for (size_t i = 0; i < kChunk; ++i) chunk[i] = patternAt(off + i);
            m.queue(Packet{TransportProtocol::Tcp, Endpoint{kLo, 0}, server.endpoint(),
                           std::move(chunk)});
        }
    });
    ASSERT_TRUE(eventually([&] { return m.streamEventCount() == 2; }, std::chrono::seconds(5)));
    EXPECT_TRUE(intact);
    EXPECT_EQ(m.streamData(), bytesOf("ok"));
    EXPECT_EQ(statesOf(m), (std::vector{StreamState::Connected, StreamState::Closed}));
    EXPECT_EQ(rt.stats().bytesTx, kTotal);
}

TEST(RuntimeTcp, ConnectionRefusedIsFailedAndTheNextPacketRetries) {
    // A bound socket that does not listen: connections to its port are refused, and no one
    // else can take the port meanwhile.
    int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_storage ss;
    socklen_t len = Endpoint{kLo, 0}.toSockaddr(ss);
    ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&ss), len), 0);
    len = sizeof ss;
    getsockname(holder, reinterpret_cast<sockaddr*>(&ss), &len);
    Endpoint refused = *Endpoint::fromSockaddr(reinterpret_cast<sockaddr*>(&ss));

    TestMachine m;
    Runtime rt;
    rt.start();
    rt.attach(m, nullptr);
    auto t0 = Clock::now();
    rt.post([&] {
        m.queue(Packet{TransportProtocol::Tcp, Endpoint{kLo, 0}, refused, bytesOf("x")});
    });
    ASSERT_TRUE(eventually([&] { return m.streamEventCount() == 1; }));
    EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(500));
    auto events = m.events();
    EXPECT_EQ(events[0].state, StreamState::Failed);
    EXPECT_EQ(events[0].remote, refused);
    EXPECT_EQ(events[0].local, (Endpoint{kLo, 0}));
    rt.post([&] {
        m.queue(Packet{TransportProtocol::Tcp, Endpoint{kLo, 0}, refused, bytesOf("y")});
    });
    ASSERT_TRUE(eventually([&] { return m.streamEventCount() == 2; }));
    EXPECT_EQ(rt.stats().streamFailures, 2u);
    EXPECT_EQ(rt.stats().streamConnects, 0u);
    // Nonsense destinations fail too, without a socket.
    rt.post([&] {
        m.queue(Packet{TransportProtocol::Tcp, Endpoint{kLo, 0}, Endpoint{kLo, 0}, bytesOf("z")});
        m.queue(Packet{TransportProtocol::Tcp, Endpoint{kLo, 0},
                       Endpoint{*IpAddress::parse("::1"), 80}, bytesOf("z")});
    });
    ASSERT_TRUE(eventually([&] { return m.streamEventCount() == 4; }));
    EXPECT_EQ(statesOf(m), std::vector<StreamState>(4, StreamState::Failed));
    ::close(holder);
}

TEST(RuntimeTcp, ConnectTimeoutIsFailed) {
    // A listener that never accepts, with a full backlog: further SYNs are dropped, so a
    // connect() hangs until the runtime gives up.
    TestServer server(nullptr, 0);
    std::vector<int> fillers;
    for (int i = 0; i < 3; ++i) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_storage ss;
        socklen_t len = server.endpoint().toSockaddr(ss);
        ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
        fillers.push_back(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));

    RuntimeConfig config;
    config.connectTimeout = std::chrono::milliseconds(150);
    TestMachine m;
    Runtime rt(config);
    rt.start();
    rt.attach(m, nullptr);
    auto t0 = Clock::now();
    rt.post([&] {
        m.queue(Packet{TransportProtocol::Tcp, Endpoint{kLo, 0}, server.endpoint(), bytesOf("x")});
    });
    ASSERT_TRUE(eventually([&] { return m.streamEventCount() == 1; }));
    auto elapsed = Clock::now() - t0;
    EXPECT_EQ(statesOf(m), std::vector{StreamState::Failed});
    EXPECT_GE(elapsed, std::chrono::milliseconds(145));
    EXPECT_LT(elapsed, std::chrono::milliseconds(600));
    for (int fd : fillers) ::close(fd);
}

TEST(RuntimeTcp, CloseStreamFlushesPendingOutputWithoutReportingAState) {
    constexpr size_t kTotal = 2 * 1024 * 1024;
    std::promise<std::pair<size_t, bool>> got;  // bytes, saw EOF
    TestServer server([&](int fd) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let output pile up
        Bytes buf(64 * 1024);
        size_t n = 0;
        bool eof = false;
        while (true) {
            ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
            if (r == 0) eof = true;
            if (r <= 0) break;
            n += size_t(r);
        }
        got.set_value({n, eof});
    });
    TestMachine m;
    Runtime rt;
    rt.start();
    MachineId id = rt.attach(m, nullptr);
    const Endpoint local{kLo, 0};
    rt.post([&] { m.queue(Packet{TransportProtocol::Tcp, local, server.endpoint(), {}}); });
    ASSERT_TRUE(eventually([&] { return m.streamEventCount() == 1; }));
    ASSERT_EQ(statesOf(m), std::vector{StreamState::Connected});
    rt.post([&] {
        m.queue(Packet{TransportProtocol::Tcp, local, server.endpoint(), Bytes(kTotal, 7)});
        // Runs after the machine has been drained, i.e. after the bytes were handed over.
        rt.post([&] { rt.closeStream(id, TransportProtocol::Tcp, local, server.endpoint()); });
    });
    auto f = got.get_future();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(3)), std::future_status::ready);
    auto [bytes, eof] = f.get();
    EXPECT_EQ(bytes, kTotal);
    EXPECT_TRUE(eof);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(m.streamEventCount(), 1u);
}

TEST(RuntimeTcp, DetachClosesTheMachinesStreams) {
    std::promise<void> eof;
    TestServer server([&](int fd) {
        uint8_t b;
        while (::recv(fd, &b, 1, 0) > 0) {
        }
        eof.set_value();
    });
    TestMachine m;
    Runtime rt;
    rt.start();
    MachineId id = rt.attach(m, nullptr);
    rt.post([&] {
        m.queue(Packet{TransportProtocol::Tcp, Endpoint{kLo, 0}, server.endpoint(), bytesOf("hi")});
    });
    ASSERT_TRUE(eventually([&] { return m.streamEventCount() == 1; }));
    rt.detach(id);
    EXPECT_EQ(eof.get_future().wait_for(std::chrono::seconds(2)), std::future_status::ready);
    EXPECT_EQ(m.streamEventCount(), 1u);
}

// ===== TLS
// ========================================================================================

namespace {

struct TestCert {
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
    std::string pemPath;
};

// Self-signed EC P-256 certificate for DNS:localhost, IP:127.0.0.1 and IP:::1.
TestCert makeSelfSignedCert() {
    TestCert tc;
    tc.key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
    X509_set_pubkey(x, tc.key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("tincan test"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    for (auto [nid, value] :
         {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
          std::pair{NID_key_usage, "critical,digitalSignature,keyCertSign"},
          std::pair{NID_subject_key_identifier, "hash"},
          std::pair{NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    X509_sign(x, tc.key, EVP_sha256());
    tc.cert = x;
    char path[] = "/tmp/tincan-net-test-ca-XXXXXX";
    int fd = mkstemp(path);
    FILE* f = fdopen(fd, "w");
    PEM_write_X509(f, x);
    fclose(f);
    tc.pemPath = path;
    return tc;
}

// Echoes the first chunk of application data, then closes with close_notify. Records the SNI.
TestServer::Handler tlsEchoHandler(SSL_CTX* ctx, std::string* sni, std::atomic<int>* handshakes) {
    return [ctx, sni, handshakes](int fd) {
        SSL* ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) == 1) {
            if (handshakes) ++*handshakes;
            if (sni) {
                const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
                *sni = name ? name : "";
            }
            char buf[4096];
            int n = SSL_read(ssl, buf, sizeof buf);
            if (n > 0) SSL_write(ssl, buf, n);
            SSL_shutdown(ssl);
        }
        SSL_free(ssl);
        ERR_clear_error();
    };
}

class RuntimeTls : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        cert_ = makeSelfSignedCert();
        serverCtx_ = SSL_CTX_new(TLS_server_method());
        SSL_CTX_use_certificate(serverCtx_, cert_.cert);
        SSL_CTX_use_PrivateKey(serverCtx_, cert_.key);
    }
    static void TearDownTestSuite() {
        std::remove(cert_.pemPath.c_str());
        SSL_CTX_free(serverCtx_);
        X509_free(cert_.cert);
        EVP_PKEY_free(cert_.key);
    }

    // Sends "hello tls" over TLS to a fresh echo server; returns the machine's states.
    std::vector<StreamState> exchange(Runtime& rt, std::optional<TlsOptions> options,
                                      Bytes* echoed = nullptr, std::string* sni = nullptr) {
        std::atomic<int> handshakes{0};
        TestServer server(tlsEchoHandler(serverCtx_, sni, &handshakes));
        if (options) (void)rt.setTlsOptions(server.endpoint(), *options);
        TestMachine m;
        MachineId id = rt.attach(m, nullptr);
        // Written before the handshake completes: the runtime holds it until Connected.
        rt.post([&] {
            m.queue(Packet{TransportProtocol::Tls, Endpoint{kLo, 0}, server.endpoint(),
                           bytesOf("hello tls")});
        });
        eventually(
            [&] {
                auto s = statesOf(m);
                return (s.size() == 1 && s[0] == StreamState::Failed) || s.size() == 2;
            },
            std::chrono::seconds(3));
        rt.detach(id);
        if (echoed) *echoed = m.streamData();
        auto events = m.events();
        if (!events.empty() && events[0].state == StreamState::Connected) {
            EXPECT_EQ(events[0].bytesReceivedBefore, 0u);
        }
        return statesOf(m);
    }

    static inline TestCert cert_;
    static inline SSL_CTX* serverCtx_ = nullptr;
};

const std::vector<StreamState> kUpThenClosed{StreamState::Connected, StreamState::Closed};
const std::vector<StreamState> kFailed{StreamState::Failed};

}  // namespace

TEST_F(RuntimeTls, VerifiesTheServerIpAgainstATrustedCaFile) {
    Runtime rt;
    rt.start();
    Bytes echoed;
    EXPECT_EQ(exchange(rt, TlsOptions{"", cert_.pemPath, true}, &echoed), kUpThenClosed);
    EXPECT_EQ(echoed, bytesOf("hello tls"));
    EXPECT_EQ(rt.stats().streamConnects, 1u);
    EXPECT_EQ(rt.stats().streamFailures, 0u);
}

TEST_F(RuntimeTls, VerifiesTheHostNameAndSendsSni) {
    Runtime rt;
    rt.start();
    Bytes echoed;
    std::string sni;
    EXPECT_EQ(exchange(rt, TlsOptions{"localhost", cert_.pemPath, true}, &echoed, &sni),
              kUpThenClosed);
    EXPECT_EQ(echoed, bytesOf("hello tls"));
    EXPECT_EQ(sni, "localhost");
}

TEST_F(RuntimeTls, UntrustedCertificateFails) {
    Runtime rt;
    rt.start();
    EXPECT_EQ(exchange(rt, std::nullopt), kFailed);  // system store only
    EXPECT_EQ(rt.stats().streamFailures, 1u);
    EXPECT_EQ(rt.stats().streamConnects, 0u);
}

TEST_F(RuntimeTls, HostNameMismatchFails) {
    Runtime rt;
    rt.start();
    EXPECT_EQ(exchange(rt, TlsOptions{"wrong.example", cert_.pemPath, true}), kFailed);
    EXPECT_EQ(exchange(rt, TlsOptions{"127.0.0.2", cert_.pemPath, true}), kFailed);
}

TEST_F(RuntimeTls, RuntimeWideCaFileIsTrusted) {
    RuntimeConfig config;
    config.defaultCaFile = cert_.pemPath;
    Runtime rt(config);
    rt.start();
    EXPECT_EQ(exchange(rt, std::nullopt), kUpThenClosed);
}

TEST_F(RuntimeTls, VerificationCanBeTurnedOff) {
    Runtime rt;
    rt.start();
    Bytes echoed;
    EXPECT_EQ(exchange(rt, TlsOptions{"wrong.example", "", false}, &echoed), kUpThenClosed);
    EXPECT_EQ(echoed, bytesOf("hello tls"));
}

TEST_F(RuntimeTls, UnreadableCaFileIsReportedAndStreamsFail) {
    Runtime rt;
    rt.start();
    auto set = rt.setTlsOptions(Endpoint{kLo, 1}, TlsOptions{"", "/nonexistent/ca.pem", true});
    EXPECT_FALSE(set);
    EXPECT_NE(set.message().find("/nonexistent/ca.pem"), std::string::npos) << set.message();
    EXPECT_EQ(exchange(rt, TlsOptions{"", "/nonexistent/ca.pem", true}), kFailed);
}

TEST_F(RuntimeTls, ServerThatIsNotTlsFails) {
    TestServer server([](int fd) {
        const char junk[] = "HTTP/1.0 400 Bad Request\r\n\r\n";
        uint8_t buf[512];
        (void)::recv(fd, buf, sizeof buf, 0);
        writeAll(fd, reinterpret_cast<const uint8_t*>(junk), sizeof junk - 1);
    });
    TestMachine m;
    Runtime rt;
    rt.start();
    rt.attach(m, nullptr);
    rt.post([&] {
        m.queue(Packet{TransportProtocol::Tls, Endpoint{kLo, 0}, server.endpoint(), bytesOf("x")});
    });
    ASSERT_TRUE(eventually([&] { return m.streamEventCount() == 1; }));
    EXPECT_EQ(statesOf(m), kFailed);
}
