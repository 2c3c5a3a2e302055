// mDNS: the pure codec (RFC 6762 / RFC 1035 wire format) and Runtime::resolveMdns.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <future>
#include <random>

#include "core/net/mdns.hpp"
#include "core/net/runtime.hpp"
#include "net_test_util.hpp"

using namespace tincan;
using namespace tincan::net;
using namespace tincan::net::test;

namespace {

// Hand-assembles DNS messages, including broken ones.
struct DnsWriter {
    Bytes b;
    DnsWriter(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns = 0,
              uint16_t ar = 0) {
        for (uint16_t v : {id, flags, qd, an, ns, ar}) appendU16(b, v);
    }
    size_t offset() const { return b.size(); }
    DnsWriter& labels(std::initializer_list<std::string_view> ls) {
        for (auto l : ls) {
            b.push_back(uint8_t(l.size()));
            appendBytes(b, asBytes(l));
        }
        return *this;
    }
    DnsWriter& end() {
        b.push_back(0);
        return *this;
    }
    DnsWriter& pointer(size_t off) {
        appendU16(b, uint16_t(0xC000 | off));
        return *this;
    }
    DnsWriter& question(uint16_t type, uint16_t cls = 0x8001) {
        appendU16(b, type);
        appendU16(b, cls);
        return *this;
    }
    DnsWriter& a(const char* ip, uint32_t ttl = 120, uint16_t cls = 0x8001) {
        appendU16(b, 1);
        appendU16(b, cls);
        appendU32(b, ttl);
        appendU16(b, 4);
        appendBytes(b, IpAddress::parse(ip)->bytes());
        return *this;
    }
    DnsWriter& aaaa(const char* ip, uint32_t ttl = 120) {
        appendU16(b, 28);
        appendU16(b, 0x8001);
        appendU32(b, ttl);
        appendU16(b, 16);
        appendBytes(b, IpAddress::parse(ip)->bytes());
        return *this;
    }
};

constexpr uint16_t kResponse = 0x8400;  // QR + AA
const char* kName = "1f4712db-ea17-4bcf-a596-105139dfd8bf.local";
const char* kUuid = "1f4712db-ea17-4bcf-a596-105139dfd8bf";

std::vector<std::string> strings(const std::vector<IpAddress>& ips) {
    std::vector<std::string> out;
    for (auto& ip : ips) out.push_back(ip.toString());
    return out;
}
using Strings = std::vector<std::string>;

// Question for kName, then: A via a pointer to it, AAAA with the name spelled in capitals,
// an A for another name, a goodbye (TTL 0) and a duplicate A.
Bytes typicalResponse() {
    DnsWriter w(0x1234, kResponse, 1, 5);
    size_t q = w.offset();
    w.labels({kUuid, "local"}).end().question(1);
    w.pointer(q).a("192.168.1.5");
    w.labels({"1F4712DB-EA17-4BCF-A596-105139DFD8BF", "LOCAL"}).end().aaaa("2001:db8::5");
    w.labels({"other", "local"}).end().a("10.9.9.9");
    w.pointer(q).a("10.0.0.99", /*ttl=*/0);
    w.pointer(q).a("192.168.1.5");
    return w.b;
}

}  // namespace

TEST(MdnsCodec, QueryHasAAndAaaaQuestionsWithTheQuBit) {
    Bytes q = buildMdnsQuery("abc.local", 0x1234);
    const Bytes expected = {
        0x12, 0x34, 0,   0,   0,    2,   0,   0,   0,   0,   0, 0,              // header, QDCOUNT 2
        3,    'a',  'b', 'c', 5,    'l', 'o', 'c', 'a', 'l', 0, 0, 1, 0x80, 1,  // A, IN + QU
        0xC0, 12,   0,   28,  0x80, 1};  // same name; AAAA, IN + QU
    EXPECT_EQ(q, expected);
    EXPECT_EQ(buildMdnsQuery("abc.local.", 0x1234), expected);
}

TEST(MdnsCodec, QueryRejectsInvalidNames) {
    for (std::string bad :
         {std::string(), std::string("."), std::string("a..local"), std::string(".local"),
          std::string("x") + std::string(64, 'a') + ".local",
          std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
              std::string(63, 'd') + ".local"})
        EXPECT_TRUE(buildMdnsQuery(bad, 1).empty()) << bad;
    EXPECT_FALSE(buildMdnsQuery(std::string(63, 'a') + ".local", 1).empty());
}

TEST(MdnsCodec, ParsesAnswersMatchingTheNameCaseInsensitively) {
    EXPECT_EQ(strings(parseMdnsAnswer(typicalResponse(), kName)),
              (Strings{"192.168.1.5", "2001:db8::5"}));
    EXPECT_EQ(strings(parseMdnsAnswer(typicalResponse(), std::string(kName) + ".")),
              (Strings{"192.168.1.5", "2001:db8::5"}));
    EXPECT_EQ(strings(parseMdnsAnswer(typicalResponse(), "OTHER.local")), (Strings{"10.9.9.9"}));
    EXPECT_TRUE(parseMdnsAnswer(typicalResponse(), "missing.local").empty());
    EXPECT_TRUE(parseMdnsAnswer(typicalResponse(), "").empty());
}

TEST(MdnsCodec, FollowsCompressedSuffixesAndChains) {
    DnsWriter w(0, kResponse, 0, 2);
    size_t other = w.offset();
    w.labels({"other", "local"}).end().a("10.1.1.1");
    // "<uuid>" + pointer to the "local" label inside "other.local".
    w.labels({kUuid}).pointer(other + 6).a("10.2.2.2");
    EXPECT_EQ(strings(parseMdnsAnswer(w.b, kName)), (Strings{"10.2.2.2"}));

    // A chain of 40 pointers, each adding one label: l39.l38...l0.local (as 41 questions).
    DnsWriter c(0, kResponse, 41, 0, 0, 1);
    size_t prev = c.offset();
    c.labels({"local"}).end().question(1);
    std::string name = "local";
    for (int i = 0; i < 40; ++i) {
        size_t here = c.offset();
        std::string label = "l" + std::to_string(i);
        c.labels({label}).pointer(prev).question(1);
        prev = here;
        name = label + "." + name;
    }
    c.labels({"host"}).pointer(prev).a("10.3.3.3");  // in the additional section
    name = "host." + name;
    EXPECT_EQ(strings(parseMdnsAnswer(c.b, name)), (Strings{"10.3.3.3"}));
}

TEST(MdnsCodec, IgnoresQueriesErrorsAndOddRecords) {
    Bytes query = typicalResponse();
    query[2] &= 0x7F;  // QR = 0: a query carrying known answers
    EXPECT_TRUE(parseMdnsAnswer(query, kName).empty());
    Bytes rcode = typicalResponse();
    rcode[3] |= 0x03;
    EXPECT_TRUE(parseMdnsAnswer(rcode, kName).empty());
    Bytes opcode = typicalResponse();
    opcode[2] |= 0x10;
    EXPECT_TRUE(parseMdnsAnswer(opcode, kName).empty());

    DnsWriter w(0, kResponse, 0, 4);
    w.labels({kUuid, "local"}).end().a("10.0.0.1", 120, /*class CH*/ 3);
    w.labels({kUuid, "local"}).end().a("0.0.0.0");
    w.labels({kUuid, "local"}).end().a("224.0.0.251");
    // An A record with a 5-byte rdata.
    w.labels({kUuid, "local"}).end();
    appendU16(w.b, 1), appendU16(w.b, 1), appendU32(w.b, 120), appendU16(w.b, 5);
    appendBytes(w.b, Bytes{10, 0, 0, 1, 0});
    EXPECT_TRUE(parseMdnsAnswer(w.b, kName).empty());
}

TEST(MdnsCodec, EveryTruncationIsGarbage) {
    Bytes full = typicalResponse();
    ASSERT_FALSE(parseMdnsAnswer(full, kName).empty());
    for (size_t n = 0; n < full.size(); ++n)
        EXPECT_TRUE(parseMdnsAnswer(ByteView(full.data(), n), kName).empty()) << n;
}

TEST(MdnsCodec, PointerLoopsAndBadLabelsAreGarbage) {
    auto withAnswerName = [](auto&& writeName) {
        DnsWriter w(0, kResponse, 0, 1);
        writeName(w);
        w.a("10.0.0.1");
        return w.b;
    };
    // Points at itself.
    EXPECT_TRUE(
        parseMdnsAnswer(withAnswerName([](DnsWriter& w) { w.pointer(12); }), kName).empty());
    // A label, then back to that label: a loop through one label.
    EXPECT_TRUE(
        parseMdnsAnswer(withAnswerName([](DnsWriter& w) { w.labels({"a"}).pointer(12); }), "a.a")
            .empty());
    // Forward pointer.
    EXPECT_TRUE(
        parseMdnsAnswer(withAnswerName([](DnsWriter& w) { w.pointer(40); }), kName).empty());
    // Two names pointing at each other (question at 12 -> 20, answer at 20 -> 12).
    {
        DnsWriter w(0, kResponse, 1, 1);
        w.labels({"ab", "c"}).pointer(20).question(1);  // 12: 2ab 1c ptr(20)
        w.labels({"x"}).pointer(12).a("10.0.0.1");      // 20 (forward from 12: rejected)
        EXPECT_TRUE(parseMdnsAnswer(w.b, "x.ab.c").empty());
    }
    // Extended (0x40) and reserved (0x80) label types.
    for (uint8_t type : {uint8_t(0x41), uint8_t(0x81)}) {
        Bytes b =
            withAnswerName([&](DnsWriter& w) { w.b.push_back(type), w.b.push_back('a'), w.end(); });
        EXPECT_TRUE(parseMdnsAnswer(b, "a").empty());
    }
    // Names assembled from pointers (as questions): 64 * (k + 1) + 1 wire bytes.
    auto longName = [](int k, std::string* name) {
        DnsWriter w(0, kResponse, uint16_t(k + 1), 1);
        size_t prev = w.offset();
        w.labels({std::string(63, 'a')}).end().question(1);
        *name = std::string(63, 'a');
        for (int i = 0; i < k; ++i) {
            size_t here = w.offset();
            w.labels({std::string(63, 'b')}).pointer(prev).question(1);
            prev = here;
            *name = std::string(63, 'b') + "." + *name;
        }
        w.pointer(prev).a("10.0.0.1");
        return w.b;
    };
    std::string name;
    Bytes fits = longName(2, &name);  // 193 bytes
    EXPECT_EQ(strings(parseMdnsAnswer(fits, name)), (Strings{"10.0.0.1"}));
    Bytes tooLong = longName(3, &name);  // 257 bytes
    EXPECT_TRUE(parseMdnsAnswer(tooLong, "x.local").empty());
}

TEST(MdnsCodec, RandomAndMutatedInputNeverCrashes) {
    std::mt19937 rng(1234);
    Bytes base = typicalResponse();
    size_t found = 0;
    for (int i = 0; i < 20000; ++i) {
        Bytes b;
        if (i % 2) {
            b.resize(rng() % 600);
            for (auto& x : b) x = uint8_t(rng());
            if (b.size() > 3) b[2] |= 0x80, b[3] &= 0xF0;
        } else {
            b = base;
            for (int k = int(rng() % 4); k >= 0; --k) b[rng() % b.size()] = uint8_t(rng());
            if (rng() % 3 == 0) b.resize(rng() % b.size());
        }
        auto r = parseMdnsAnswer(b, kName);
        found += r.size();
        EXPECT_LE(r.size(), b.size() / 4);
    }
    EXPECT_GT(found, 0u);  // mutations that leave the answers alone still parse
}

// ===== Runtime::resolveMdns
// =======================================================================

namespace {

struct Outcome {
    std::optional<IpAddress> result;
    Duration elapsed{};
    bool onLoop = false;
};

std::future<Outcome> resolve(Runtime& rt, const std::string& name, Duration timeout) {
    auto promise = std::make_shared<std::promise<Outcome>>();
    auto t0 = Clock::now();
    rt.resolveMdns(
        name,
        [promise, t0, &rt](std::optional<IpAddress> ip) {
            promise->set_value({ip, Clock::now() - t0, rt.onLoopThread()});
        },
        timeout);
    return promise->get_future();
}

// Runs `body` on a thread inside a fresh network namespace whose only interface is `lo`
// (up). Threads and sockets the body creates live in that namespace. Returns false if
// namespaces are not available (not root).
bool inLoopbackOnlyNamespace(const std::function<void()>& body, bool multicastOnLo = false) {
    bool ok = false;
    std::thread t([&] {
        if (unshare(CLONE_NEWNET) != 0) return;
        int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ifreq ifr{};
        std::strcpy(ifr.ifr_name, "lo");
        if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) return;
        ifr.ifr_flags |= IFF_UP | (multicastOnLo ? IFF_MULTICAST : 0);
        if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) return;
        if (multicastOnLo) {
            rtentry rt{};
            auto* dst = reinterpret_cast<sockaddr_in*>(&rt.rt_dst);
            auto* mask = reinterpret_cast<sockaddr_in*>(&rt.rt_genmask);
            dst->sin_family = mask->sin_family = AF_INET;
            reinterpret_cast<sockaddr_in*>(&rt.rt_gateway)->sin_family = AF_INET;
            dst->sin_addr.s_addr = htonl(0xE0000000);
            mask->sin_addr.s_addr = htonl(0xF0000000);
            rt.rt_flags = RTF_UP;
            char dev[] = "lo";
            rt.rt_dev = dev;
            if (ioctl(s, SIOCADDRT, &rt) != 0) return;
        }
        ::close(s);
        ok = true;
        body();
    });
    t.join();
    return ok;
}

// Echo traffic through the runtime while something else is going on: returns how long
// `count` ping-pongs took.
Duration pingPongDuring(Runtime& rt, int count) {
    TestMachine a, b;
    b.echo = true;
    std::promise<void> done;
    int got = 0;
    a.onPacket = [&](const PacketView& p, std::deque<Packet>& out) {
        if (++got == count)
            done.set_value();
        else
            out.push_back(Packet{TransportProtocol::Udp, p.local, p.remote, bytesOf("ping")});
    };
    MachineId ida = rt.attach(a, nullptr), idb = rt.attach(b, nullptr);
    auto ea = *rt.openUdp(ida, Endpoint{IpAddress::v4(127, 0, 0, 1), 0});
    auto eb = *rt.openUdp(idb, Endpoint{IpAddress::v4(127, 0, 0, 1), 0});
    auto t0 = Clock::now();
    rt.post([&] { a.queue(Packet{TransportProtocol::Udp, ea, eb, bytesOf("ping")}); });
    auto f = done.get_future();
    bool finished = f.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
    auto elapsed = Clock::now() - t0;
    rt.detach(ida);
    rt.detach(idb);
    return finished ? elapsed : Duration::max();
}

}  // namespace

TEST(ResolveMdns, InvalidNameCompletesAtOnceOnTheLoopThread) {
    Runtime rt;
    rt.start();
    auto f = resolve(rt, "bad..local", std::chrono::milliseconds(1500));
    ASSERT_EQ(f.wait_for(std::chrono::milliseconds(500)), std::future_status::ready);
    auto o = f.get();
    EXPECT_FALSE(o.result);
    EXPECT_TRUE(o.onLoop);
}

TEST(ResolveMdns, TimesOutWithoutHoldingUpOtherTraffic) {
    Runtime rt;
    rt.start();
    auto f =
        resolve(rt, "7b3ac2f4-0000-4000-8000-000000000000.local", std::chrono::milliseconds(300));
    EXPECT_LT(pingPongDuring(rt, 200), std::chrono::milliseconds(250));
    ASSERT_EQ(f.wait_for(std::chrono::seconds(1)), std::future_status::ready);
    auto o = f.get();
    EXPECT_FALSE(o.result);
    EXPECT_TRUE(o.onLoop);
    EXPECT_LT(o.elapsed, std::chrono::milliseconds(450));
}

TEST(ResolveMdns, LoopbackOnlyNamespaceGivesUpPromptly) {
    bool ran = inLoopbackOnlyNamespace([] {
        Runtime rt;
        rt.start();
        auto f = resolve(rt, "7b3ac2f4-0000-4000-8000-000000000001.local",
                         std::chrono::milliseconds(1500));
        // Local traffic still flows.
        EXPECT_LT(pingPongDuring(rt, 100), std::chrono::milliseconds(250));
        ASSERT_EQ(f.wait_for(std::chrono::milliseconds(1700)), std::future_status::ready);
        auto o = f.get();
        EXPECT_FALSE(o.result);
        // No multicast route: the query cannot be sent, so there is nothing to wait for.
        EXPECT_LT(o.elapsed, std::chrono::milliseconds(200));
    });
    if (!ran) GTEST_SKIP() << "cannot create a network namespace (needs root)";
}

TEST(ResolveMdns, ResolvesFromAResponder) {
    bool ran = inLoopbackOnlyNamespace(
        [] {
            // A responder on lo, joined to 224.0.0.251, answering legacy unicast queries.
            int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            int one = 1;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            sockaddr_storage ss;
            socklen_t len = Endpoint{IpAddress::anyV4(), kMdnsPort}.toSockaddr(ss);
            ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&ss), len), 0);
            ip_mreq mreq{};
            mreq.imr_multiaddr.s_addr = htonl(0xE00000FB);
            mreq.imr_interface.s_addr = htonl(INADDR_LOOPBACK);
            ASSERT_EQ(setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq), 0);
            std::atomic<bool> stop{false};
            std::atomic<int> queries{0};
            std::thread responder([&] {
                uint8_t buf[1500];
                while (!stop) {
                    pollfd p{fd, POLLIN, 0};
                    if (::poll(&p, 1, 20) <= 0) continue;
                    sockaddr_storage from;
                    socklen_t fromLen = sizeof from;
                    ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0,
                                           reinterpret_cast<sockaddr*>(&from), &fromLen);
                    if (n < 12 || (buf[2] & 0x80)) continue;
                    ++queries;
                    // Echo the id and the first question's name; answer with an A record.
                    DnsWriter w(readU16(buf), kResponse, 0, 1);
                    size_t nameEnd = 12;
                    while (nameEnd < size_t(n) && buf[nameEnd]) nameEnd += 1 + buf[nameEnd];
                    w.b.insert(w.b.end(), buf + 12, buf + nameEnd + 1);
                    w.a("127.0.0.77");
                    ::sendto(fd, w.b.data(), w.b.size(), 0, reinterpret_cast<sockaddr*>(&from),
                             fromLen);
                }
            });
            Runtime rt;
            rt.start();
            auto f = resolve(rt, kName, std::chrono::milliseconds(1500));
            ASSERT_EQ(f.wait_for(std::chrono::seconds(2)), std::future_status::ready);
            auto o = f.get();
            ASSERT_TRUE(o.result);
            EXPECT_EQ(*o.result, IpAddress::v4(127, 0, 0, 77));
            EXPECT_LT(o.elapsed, std::chrono::milliseconds(300));
            EXPECT_GE(queries.load(), 1);
            stop = true;
            responder.join();
            ::close(fd);
        },
        /*multicastOnLo=*/true);
    if (!ran) GTEST_SKIP() << "cannot create a network namespace (needs root)";
}
