// The simulator itself: NAT mapping and filtering (RFC 4787), routing, loss, determinism,
// virtual timers and streams.
#include <gtest/gtest.h>

#include <set>

#include "tests/sim/network.hpp"
#include "tests/sim/probe.hpp"

using namespace tincan;
using namespace tincan::sim;

namespace {

// Address plan: servers on 203.0.113.0/24, NAT public addresses on 198.51.100.0/24, LANs in
// 192.0.2.0/25 and 192.0.2.128/25.
const Endpoint kServer1 = ep("203.0.113.1:3478");
const Endpoint kServer2 = ep("203.0.113.2:3478");
const IpAddress kNatIp = ip("198.51.100.1");
const Endpoint kAlice = ep("192.0.2.10:5000");

struct OneNat {
    Network net;
    ProbeMachine alice, s1, s2;
    RouterId nat;
    HostId a, h1, h2;

    explicit OneNat(NatConfig config, uint64_t seed = 1) : net(seed) {
        nat = net.addNat(kNatIp, config);
        a = net.addHost("alice", {kAlice.ip}, nat, &alice);
        s1.echo = s2.echo = true;
        h1 = net.addHost("s1", {kServer1.ip}, std::nullopt, &s1);
        h2 = net.addHost("s2", {kServer2.ip}, std::nullopt, &s2);
    }
};

}  // namespace

TEST(SimNat, ConeKeepsOnePublicPortForTwoDestinations) {
    OneNat t(NatConfig::cone());
    t.alice.sendUdp(kAlice, kServer1, "one");
    t.alice.sendUdp(kAlice, kServer2, "two");
    t.net.runFor(1s);
    ASSERT_EQ(t.s1.received.size(), 1u);
    ASSERT_EQ(t.s2.received.size(), 1u);
    // Linux masquerade keeps the port when it is free.
    EXPECT_EQ(t.s1.received[0].remote, (Endpoint{kNatIp, 5000}));
    EXPECT_EQ(t.s2.received[0].remote, (Endpoint{kNatIp, 5000}));
    EXPECT_EQ(t.s1.received[0].local, kServer1);
    // Both echoes come back, translated to the internal endpoint.
    ASSERT_EQ(t.alice.received.size(), 2u);
    for (const auto& r : t.alice.received) EXPECT_EQ(r.local, kAlice);
    std::set<Endpoint> from{t.alice.received[0].remote, t.alice.received[1].remote};
    EXPECT_EQ(from, (std::set<Endpoint>{kServer1, kServer2}));
    EXPECT_EQ(t.net.natMappings(t.nat).size(), 1u);
}

TEST(SimNat, SymmetricUsesAPortPerDestination) {
    OneNat t(NatConfig::symmetric());
    t.alice.sendUdp(kAlice, kServer1, "one");
    t.alice.sendUdp(kAlice, kServer2, "two");
    t.alice.sendUdp(kAlice, ep("203.0.113.1:3479"), "three");  // same IP, other port
    t.net.runFor(1s);
    ASSERT_EQ(t.s1.received.size(), 2u);
    ASSERT_EQ(t.s2.received.size(), 1u);
    std::set<Endpoint> seen{t.s1.received[0].remote, t.s1.received[1].remote,
                            t.s2.received[0].remote};
    EXPECT_EQ(seen.size(), 3u);
    for (const auto& e : seen) EXPECT_EQ(e.ip, kNatIp);
    EXPECT_EQ(t.alice.received.size(), 3u);  // replies come back through each mapping
    EXPECT_EQ(t.net.natMappings(t.nat).size(), 3u);
}

TEST(SimNat, AddressDependentMappingSharesPortPerIp) {
    NatConfig c = NatConfig::cone();
    c.mapping = Mapping::AddressDependent;
    OneNat t(c);
    t.alice.sendUdp(kAlice, kServer1, "a");
    t.alice.sendUdp(kAlice, ep("203.0.113.1:3479"), "b");
    t.alice.sendUdp(kAlice, kServer2, "c");
    t.net.runFor(1s);
    ASSERT_EQ(t.s1.received.size(), 2u);
    ASSERT_EQ(t.s2.received.size(), 1u);
    EXPECT_EQ(t.s1.received[0].remote, t.s1.received[1].remote);
    EXPECT_NE(t.s1.received[0].remote, t.s2.received[0].remote);
}

TEST(SimNat, PortRestrictedDropsUnsolicitedFromNewPortButAcceptsReply) {
    OneNat t(NatConfig::cone());
    t.s1.echo = false;
    t.alice.sendUdp(kAlice, kServer1, "hello");
    t.net.runFor(100ms);
    ASSERT_EQ(t.s1.received.size(), 1u);
    const Endpoint mapped = t.s1.received[0].remote;

    t.s1.sendUdp(ep("203.0.113.1:9999"), mapped, "from another port");
    t.s2.sendUdp(kServer2, mapped, "from another address");
    t.s1.sendUdp(kServer1, mapped, "reply");
    t.net.runFor(100ms);
    ASSERT_EQ(t.alice.received.size(), 1u);
    EXPECT_EQ(t.alice.received[0].text(), "reply");
    EXPECT_EQ(t.alice.received[0].remote, kServer1);
    EXPECT_EQ(t.net.stats(t.h1).droppedFiltered, 1u);
    EXPECT_EQ(t.net.stats(t.h2).droppedFiltered, 1u);
}

TEST(SimNat, RestrictedConeAcceptsAnyPortOfAContactedAddress) {
    OneNat t(NatConfig::restrictedCone());
    t.s1.echo = false;
    t.alice.sendUdp(kAlice, kServer1, "hello");
    t.net.runFor(100ms);
    const Endpoint mapped = t.s1.received.at(0).remote;
    t.s1.sendUdp(ep("203.0.113.1:9999"), mapped, "other port");
    t.s2.sendUdp(kServer2, mapped, "other address");
    t.net.runFor(100ms);
    ASSERT_EQ(t.alice.received.size(), 1u);
    EXPECT_EQ(t.alice.received[0].text(), "other port");
    EXPECT_EQ(t.net.stats(t.h2).droppedFiltered, 1u);
}

TEST(SimNat, FullConeAcceptsUnsolicited) {
    OneNat t(NatConfig::fullCone());
    t.s1.echo = false;
    t.alice.sendUdp(kAlice, kServer1, "hello");
    t.net.runFor(100ms);
    const Endpoint mapped = t.s1.received.at(0).remote;
    t.s2.sendUdp(kServer2, mapped, "unsolicited");
    t.net.runFor(100ms);
    ASSERT_EQ(t.alice.received.size(), 1u);
    EXPECT_EQ(t.alice.received[0].remote, kServer2);
    EXPECT_EQ(t.alice.received[0].local, kAlice);
    // Without any mapping, nothing gets in even through a full cone.
    t.s2.sendUdp(kServer2, Endpoint{kNatIp, uint16_t(mapped.port + 1)}, "no mapping");
    t.net.runFor(100ms);
    EXPECT_EQ(t.alice.received.size(), 1u);
    EXPECT_EQ(t.net.stats(t.h2).droppedFiltered, 1u);
}

TEST(SimNat, UdpMappingExpiresWithoutOutboundTraffic) {
    OneNat t(NatConfig::cone());
    t.s1.echo = false;
    t.alice.sendUdp(kAlice, kServer1, "hello");
    t.net.runFor(100s);
    const Endpoint mapped = t.s1.received.at(0).remote;
    t.s1.sendUdp(kServer1, mapped, "still open");
    t.net.runFor(30s);  // 130 s after the last outbound packet: past the 120 s timeout
    t.s1.sendUdp(kServer1, mapped, "expired");
    t.net.runFor(1s);
    ASSERT_EQ(t.alice.received.size(), 1u);
    EXPECT_EQ(t.alice.received[0].text(), "still open");
    EXPECT_TRUE(t.net.natMappings(t.nat).empty());
}

TEST(SimNat, TwoHostsOnOneLanGetDistinctPorts) {
    Network net;
    ProbeMachine a, b, s;
    s.echo = true;
    RouterId nat = net.addNat(kNatIp, NatConfig::cone());
    net.addHost("a", {ip("192.0.2.10")}, nat, &a);
    net.addHost("b", {ip("192.0.2.11")}, nat, &b);
    net.addHost("s", {kServer1.ip}, std::nullopt, &s);
    a.sendUdp(ep("192.0.2.10:5000"), kServer1, "a");
    b.sendUdp(ep("192.0.2.11:5000"), kServer1, "b");
    net.runFor(1s);
    ASSERT_EQ(s.received.size(), 2u);
    EXPECT_NE(s.received[0].remote, s.received[1].remote);
    ASSERT_EQ(a.received.size(), 1u);
    ASSERT_EQ(b.received.size(), 1u);
    EXPECT_EQ(a.received[0].text(), "a");
    EXPECT_EQ(b.received[0].text(), "b");
}

TEST(SimNat, SameLanIsDirect) {
    Network net;
    ProbeMachine a, b;
    RouterId nat = net.addNat(kNatIp, NatConfig::symmetric());
    HostId ha = net.addHost("a", {ip("192.0.2.10")}, nat, &a);
    net.addHost("b", {ip("192.0.2.11")}, nat, &b);
    net.setDelay(ha, 2ms);
    a.sendUdp(ep("192.0.2.10:5000"), ep("192.0.2.11:6000"), "hi");
    net.runFor(1s);
    ASSERT_EQ(b.received.size(), 1u);
    EXPECT_EQ(b.received[0].remote, ep("192.0.2.10:5000"));
    EXPECT_EQ(b.received[0].local, ep("192.0.2.11:6000"));
    EXPECT_EQ(b.received[0].at, Network::epoch() + 2ms + 5ms);  // both access links
    EXPECT_TRUE(net.natMappings(nat).empty());
}

TEST(SimNat, TwoLansMayReuseTheSamePrivateAddresses) {
    Network net;
    ProbeMachine a, b;
    RouterId n1 = net.addNat(ip("198.51.100.1"), NatConfig::fullCone());
    RouterId n2 = net.addNat(ip("198.51.100.2"), NatConfig::fullCone());
    net.addHost("a", {ip("192.0.2.10")}, n1, &a);
    net.addHost("b", {ip("192.0.2.10")}, n2, &b);
    // a's "192.0.2.10" is itself, never b.
    a.sendUdp(ep("192.0.2.10:5000"), ep("192.0.2.10:5001"), "self");
    net.runFor(1s);
    ASSERT_EQ(a.received.size(), 1u);
    EXPECT_TRUE(b.received.empty());
}

TEST(SimNat, BlockUdpLetsOnlyStreamsOut) {
    OneNat t(NatConfig::udpBlocked());
    t.alice.sendUdp(kAlice, kServer1, "udp");
    t.alice.send(TransportProtocol::Tcp, Endpoint{kAlice.ip, 0}, ep("203.0.113.1:443"), "tcp");
    t.net.runFor(1s);
    EXPECT_EQ(t.net.stats(t.a).droppedFiltered, 1u);
    ASSERT_EQ(t.alice.states.size(), 1u);
    EXPECT_EQ(t.alice.states[0].state, StreamState::Connected);
    EXPECT_EQ(t.s1.streamText(t.net.natMappings(t.nat).at(0).external), "tcp");
    EXPECT_EQ(t.alice.streamText(ep("203.0.113.1:443")), "tcp");  // echoed
}

TEST(SimNat, HairpinOnlyWhenConfigured) {
    for (bool hairpin : {false, true}) {
        Network net;
        ProbeMachine a, b, s;
        NatConfig c = NatConfig::fullCone();
        c.hairpin = hairpin;
        RouterId nat = net.addNat(kNatIp, c);
        HostId ha = net.addHost("a", {ip("192.0.2.10")}, nat, &a);
        net.addHost("b", {ip("192.0.2.11")}, nat, &b);
        net.addHost("s", {kServer1.ip}, std::nullopt, &s);
        b.sendUdp(ep("192.0.2.11:6000"), kServer1, "open b's mapping");
        net.runFor(100ms);
        const Endpoint bPublic = s.received.at(0).remote;
        a.sendUdp(ep("192.0.2.10:5000"), bPublic, "hairpinned");
        net.runFor(100ms);
        if (hairpin) {
            ASSERT_EQ(b.received.size(), 1u);
            EXPECT_EQ(b.received[0].remote.ip, kNatIp);  // a's public mapping, not its LAN address
            EXPECT_EQ(b.received[0].local, ep("192.0.2.11:6000"));
        } else {
            EXPECT_TRUE(b.received.empty());
            EXPECT_EQ(net.stats(ha).droppedFiltered, 1u);
        }
    }
}

TEST(SimNetwork, DropsBadSourceAndUnroutable) {
    OneNat t(NatConfig::cone());
    t.alice.sendUdp(ep("192.0.2.99:5000"), kServer1, "not my address");
    t.alice.sendUdp(Endpoint{kAlice.ip, 0}, kServer1, "port zero");
    t.alice.sendUdp(kAlice, ep("203.0.113.200:1"), "nobody there");
    t.s1.sendUdp(kServer1, ep("192.0.2.10:5000"), "private address from outside");
    t.net.runFor(1s);
    EXPECT_EQ(t.net.stats(t.a).droppedBadSource, 2u);
    EXPECT_EQ(t.net.stats(t.a).droppedNoRoute, 1u);
    EXPECT_EQ(t.net.stats(t.h1).droppedNoRoute, 1u);
    EXPECT_EQ(t.net.totals().delivered, 0u);
}

TEST(SimNetwork, HostWithoutMachineDropsNoSocket) {
    Network net;
    ProbeMachine a;
    HostId ha = net.addHost("a", {kServer1.ip}, std::nullopt, &a);
    net.addHost("silent", {kServer2.ip});
    a.sendUdp(kServer1, kServer2, "anyone?");
    net.runFor(1s);
    EXPECT_EQ(net.stats(ha).droppedNoSocket, 1u);
}

TEST(SimNetwork, Ipv6IsRoutedWithoutNat) {
    Network net;
    ProbeMachine a, s;
    s.echo = true;
    RouterId nat = net.addNat(kNatIp, NatConfig::symmetric());
    net.addHost("a", {ip("192.0.2.10"), ip("2001:db8:1::10")}, nat, &a);
    net.addHost("s", {kServer1.ip, ip("2001:db8:2::1")}, std::nullopt, &s);
    a.sendUdp(ep("[2001:db8:1::10]:5000"), ep("[2001:db8:2::1]:3478"), "v6");
    net.runFor(1s);
    ASSERT_EQ(s.received.size(), 1u);
    EXPECT_EQ(s.received[0].remote, ep("[2001:db8:1::10]:5000"));
    // Access link, router WAN link, server access link: 3 × 5 ms.
    EXPECT_EQ(s.received[0].at, Network::epoch() + 15ms);
    ASSERT_EQ(a.received.size(), 1u);
    EXPECT_TRUE(net.natMappings(nat).empty());
}

TEST(SimNetwork, DelayAddsUpAlongThePath) {
    OneNat t(NatConfig::fullCone());
    t.net.setDelay(t.a, 10ms);
    t.net.setDelay(t.nat, 20ms);
    t.net.setDelay(t.h1, 30ms);
    t.alice.sendUdp(kAlice, kServer1, "x");
    t.net.runFor(1s);
    ASSERT_EQ(t.s1.received.size(), 1u);
    EXPECT_EQ(t.s1.received[0].at, Network::epoch() + 60ms);
    ASSERT_EQ(t.alice.received.size(), 1u);
    EXPECT_EQ(t.alice.received[0].at, Network::epoch() + 120ms);
}

TEST(SimNetwork, JitterStaysWithinBounds) {
    OneNat t(NatConfig::fullCone());
    t.s1.echo = false;
    t.net.setDelay(t.a, 10ms, 20ms);
    for (int i = 0; i < 200; ++i) t.alice.sendUdp(kAlice, kServer1, "x");
    t.net.runFor(1s);
    ASSERT_EQ(t.s1.received.size(), 200u);
    std::set<Timestamp> distinct;
    for (const auto& r : t.s1.received) {
        EXPECT_GE(r.at, Network::epoch() + 20ms);
        EXPECT_LE(r.at, Network::epoch() + 40ms);
        distinct.insert(r.at);
    }
    EXPECT_GT(distinct.size(), 100u);
}

TEST(SimNetwork, LossMatchesTheConfiguredProbability) {
    OneNat t(NatConfig::fullCone(), 42);
    t.s1.echo = false;
    t.net.setLoss(t.a, 0.1);
    t.net.setLoss(t.nat, 0.1);
    constexpr int kPackets = 20000;
    for (int i = 0; i < kPackets; ++i) t.alice.sendUdp(kAlice, kServer1, "x");
    t.net.runFor(1s);
    // Two lossy links: 1 - 0.9² = 19 % lost.
    const HostStats& s = t.net.stats(t.a);
    EXPECT_EQ(s.sent, uint64_t(kPackets));
    EXPECT_EQ(s.droppedLoss + t.s1.received.size(), uint64_t(kPackets));
    EXPECT_NEAR(double(s.droppedLoss) / kPackets, 0.19, 0.015);
    EXPECT_EQ(t.net.stats(t.h1).delivered, t.s1.received.size());
}

namespace {

// Two peers behind NATs pinging each other through a server-assisted exchange, with loss,
// jitter and a stream on the side; returns every tap line and the counters.
struct Timeline {
    std::vector<std::string> lines;
    HostStats totals;
    bool operator==(const Timeline&) const = default;
};

Timeline runScenario(uint64_t seed) {
    Network net(seed);
    Timeline out;
    net.setTap([&](const TapEvent& e) { out.lines.push_back(net.describe(e)); });
    ProbeMachine a, b, s;
    s.echo = true;
    RouterId na = net.addNat(ip("198.51.100.1"), NatConfig::fullCone());
    RouterId nb = net.addNat(ip("198.51.100.2"), NatConfig::fullCone());
    HostId ha = net.addHost("a", {ip("192.0.2.10")}, na, &a);
    net.addHost("b", {ip("192.0.2.130")}, nb, &b);
    net.addHost("s", {kServer1.ip}, std::nullopt, &s);
    net.setLink(ha, LinkConfig{10ms, 15ms, 0.2});
    net.setDelay(nb, 30ms, 10ms);
    for (int i = 0; i < 50; ++i) {
        a.sendUdp(ep("192.0.2.10:5000"), kServer1, "ping a " + std::to_string(i));
        b.sendUdp(ep("192.0.2.130:5000"), kServer1, "ping b " + std::to_string(i));
        a.send(TransportProtocol::Tls, Endpoint{ip("192.0.2.10"), 0}, ep("203.0.113.1:443"),
               std::string(100 + i, 'x'));
        net.runFor(20ms);
    }
    net.runFor(2s);
    out.totals = net.totals();
    return out;
}

}  // namespace

TEST(SimNetwork, SameSeedSameTimelineOtherSeedOtherTimeline) {
    Timeline first = runScenario(7);
    Timeline again = runScenario(7);
    Timeline other = runScenario(8);
    EXPECT_GT(first.lines.size(), 200u);
    EXPECT_EQ(first, again);
    EXPECT_NE(first.lines, other.lines);
    EXPECT_GT(first.totals.droppedLoss, 0u);
}

TEST(SimTime, StartsAtTheEpochAndRunForLandsExactly) {
    Network net;
    EXPECT_EQ(net.now(), Network::epoch());
    EXPECT_GT(Network::epoch().time_since_epoch(), 0s);
    net.runFor(1234567ns);
    EXPECT_EQ(net.now(), Network::epoch() + 1234567ns);
}

TEST(SimTime, TimersFireAtExactlyTheRequestedInstant) {
    Network net;
    ProbeMachine m;
    net.addHost("m", {kServer1.ip}, std::nullopt, &m);
    const Timestamp t1 = Network::epoch() + 123ms;
    const Timestamp t2 = Network::epoch() + 123456789ns;
    const Timestamp t3 = Network::epoch() + 59s;
    m.wakeAt(t3);
    m.wakeAt(t1);
    m.wakeAt(t2);
    net.runFor(60s);
    EXPECT_EQ(m.timeouts, (std::vector<Timestamp>{t1, t2, t3}));
    EXPECT_EQ(net.eventsProcessed(), 3u);  // nothing polled in between
}

TEST(SimTime, RunUntilStopsWhenDoneOrAtTheLimit) {
    Network net;
    ProbeMachine m;
    net.addHost("m", {kServer1.ip}, std::nullopt, &m);
    m.wakeAt(Network::epoch() + 300ms);
    EXPECT_TRUE(net.runUntil([&] { return !m.timeouts.empty(); }, 1s));
    EXPECT_EQ(net.now(), Network::epoch() + 300ms);
    EXPECT_FALSE(net.runUntil([] { return false; }, 2s));
    EXPECT_EQ(net.now(), Network::epoch() + 2300ms);
}

namespace {
class Spinner : public SansIoMachine {
public:
    Timestamp at = Network::epoch() + 1s;
    void handlePacket(Timestamp, const PacketView&) override {}
    void handleTimeout(Timestamp) override {}  // forgets to move its deadline
    std::optional<Packet> pollTransmit() override { return std::nullopt; }
    std::optional<Timestamp> pollTimeout() override { return at; }
};
}  // namespace

TEST(SimTime, BusyLoopIsReported) {
    Network net;
    Spinner spin;
    net.addHost("spinner", {kServer1.ip}, std::nullopt, &spin);
    net.setBusyLoopLimit(100);
    try {
        net.runFor(10s);
        FAIL() << "expected SimError";
    } catch (const SimError& e) {
        EXPECT_NE(std::string(e.what()).find("spinner"), std::string::npos) << e.what();
    }
    EXPECT_EQ(net.now(), Network::epoch() + 1s);
}

TEST(SimTime, RunningFromACallbackIsRefused) {
    Network net;
    ProbeMachine m;
    HostId h = net.addHost("m", {kServer1.ip});
    bool refused = false;
    net.attach(h, &m, [&] {
        try {
            net.runFor(1s);
        } catch (const SimError&) {
            refused = true;
        }
    });
    m.wakeAt(Network::epoch() + 1ms);
    net.runFor(1s);
    EXPECT_TRUE(refused);
}

TEST(SimTime, SixtySecondsOfTrafficIsCheap) {
    // Two peers exchanging a packet every 20 ms each for a virtual minute.
    Network net;
    ProbeMachine a, b;
    a.echo = b.echo = false;
    RouterId na = net.addNat(ip("198.51.100.1"), NatConfig::fullCone());
    net.addHost("a", {ip("192.0.2.10")}, na, &a);
    net.addHost("b", {kServer1.ip}, std::nullopt, &b);
    for (int i = 1; i <= 3000; ++i) {
        a.wakeAt(Network::epoch() + i * 20ms);
    }
    int sent = 0;
    while (net.elapsed() < 60s) {
        a.sendUdp(ep("192.0.2.10:5000"), kServer1, "ping");
        b.sendUdp(kServer1, Endpoint{ip("198.51.100.1"), 5000}, "pong");
        ++sent;
        net.runFor(20ms);
    }
    EXPECT_EQ(sent, 3000);
    EXPECT_EQ(b.received.size(), 3000u);
    EXPECT_GE(a.received.size(), 2999u);  // the first pong may beat the mapping
}

// ---- streams

TEST(SimStream, RoundTripThroughANat) {
    OneNat t(NatConfig::cone());
    const Endpoint server = ep("203.0.113.1:443");
    const Endpoint local{kAlice.ip, 0};
    std::string sent;
    for (int i = 0; i < 20; ++i) {
        std::string chunk(50 + i * 37, char('a' + i));
        t.alice.send(TransportProtocol::Tcp, local, server, chunk);
        sent += chunk;
    }
    t.net.runFor(1s);
    // Connected after one round trip: 3 links of 5 ms each way.
    ASSERT_EQ(t.alice.states.size(), 1u);
    EXPECT_EQ(t.alice.states[0].state, StreamState::Connected);
    EXPECT_EQ(t.alice.states[0].at, Network::epoch() + 30ms);
    EXPECT_EQ(t.alice.states[0].local, local);
    EXPECT_EQ(t.alice.states[0].remote, server);

    auto mappings = t.net.natMappings(t.nat);
    ASSERT_EQ(mappings.size(), 1u);
    EXPECT_EQ(mappings[0].protocol, TransportProtocol::Tcp);
    const Endpoint clientPublic = mappings[0].external;
    EXPECT_EQ(clientPublic.ip, kNatIp);
    EXPECT_EQ(t.s1.streamText(clientPublic), sent);
    for (const auto& r : t.s1.received) {
        EXPECT_EQ(r.local, server);
        EXPECT_EQ(r.protocol, TransportProtocol::Tcp);
    }
    EXPECT_EQ(t.alice.streamText(server), sent);
    for (const auto& r : t.alice.received) EXPECT_EQ(r.local, local);
    // Re-chunked: not one delivery per write.
    EXPECT_NE(t.s1.received.size(), 20u);
}

TEST(SimStream, TlsKeepsItsTagAndSeparateStreamsStaySeparate) {
    OneNat t(NatConfig::cone());
    const Endpoint local{kAlice.ip, 0};
    t.alice.send(TransportProtocol::Tls, local, ep("203.0.113.1:5349"), "tls");
    t.alice.send(TransportProtocol::Tcp, local, ep("203.0.113.1:3478"), "tcp");
    t.net.runFor(1s);
    ASSERT_EQ(t.alice.states.size(), 2u);
    EXPECT_EQ(t.alice.streamText(ep("203.0.113.1:5349")), "tls");
    EXPECT_EQ(t.alice.streamText(ep("203.0.113.1:3478")), "tcp");
    for (const auto& r : t.alice.received)
        EXPECT_EQ(r.protocol,
                  r.remote.port == 5349 ? TransportProtocol::Tls : TransportProtocol::Tcp);
    EXPECT_EQ(t.net.natMappings(t.nat).size(), 2u);
}

TEST(SimStream, FailsWhenNothingListens) {
    Network net;
    ProbeMachine a;
    net.setConnectTimeout(3s);
    net.addHost("a", {kServer1.ip}, std::nullopt, &a);
    net.addHost("silent", {kServer2.ip});
    const Endpoint local{kServer1.ip, 0};
    a.send(TransportProtocol::Tcp, local, ep("203.0.113.2:443"), "refused");
    a.send(TransportProtocol::Tcp, local, ep("203.0.113.99:443"), "unreachable");
    net.runFor(10s);
    ASSERT_EQ(a.states.size(), 2u);
    EXPECT_EQ(a.states[0].state, StreamState::Failed);
    EXPECT_EQ(a.states[0].remote, ep("203.0.113.2:443"));
    EXPECT_EQ(a.states[0].at, Network::epoch() + 20ms);  // RST after a round trip
    EXPECT_EQ(a.states[1].state, StreamState::Failed);
    EXPECT_EQ(a.states[1].at, Network::epoch() + 3s);
    // A write after the failure opens a new connection.
    ProbeMachine late;
    net.addHost("late", {ip("203.0.113.99")}, std::nullopt, &late);
    a.send(TransportProtocol::Tcp, local, ep("203.0.113.99:443"), "again");
    net.runFor(1s);
    ASSERT_EQ(a.states.size(), 3u);
    EXPECT_EQ(a.states[2].state, StreamState::Connected);
    EXPECT_EQ(late.streamText(late.received.at(0).remote), "again");
}

TEST(SimStream, ClosesOnPartitionAndReconnects) {
    OneNat t(NatConfig::cone());
    const Endpoint server = ep("203.0.113.1:443");
    const Endpoint local{kAlice.ip, 0};
    t.alice.send(TransportProtocol::Tcp, local, server, "first");
    t.net.runFor(1s);
    t.net.partition(t.h1);
    t.net.runFor(1s);
    ASSERT_EQ(t.alice.states.size(), 2u);
    EXPECT_EQ(t.alice.states[1].state, StreamState::Closed);
    t.net.partition(t.h1, false);
    t.alice.send(TransportProtocol::Tcp, local, server, "second");
    t.net.runFor(1s);
    ASSERT_EQ(t.alice.states.size(), 3u);
    EXPECT_EQ(t.alice.states[2].state, StreamState::Connected);
    EXPECT_EQ(t.alice.streamText(server), "firstsecond");
}

TEST(SimStream, NatRebootClosesStreams) {
    OneNat t(NatConfig::cone());
    t.alice.send(TransportProtocol::Tcp, Endpoint{kAlice.ip, 0}, ep("203.0.113.1:443"), "x");
    t.net.runFor(1s);
    t.net.clearNatMappings(t.nat);
    t.net.runFor(1s);
    ASSERT_EQ(t.alice.states.size(), 2u);
    EXPECT_EQ(t.alice.states[1].state, StreamState::Closed);
}

// ---- faults

TEST(SimFaults, PartitionAndBlackholeDropEverything) {
    OneNat t(NatConfig::fullCone());
    t.net.partition(t.a);
    t.alice.sendUdp(kAlice, kServer1, "1");
    t.net.runFor(1s);
    EXPECT_EQ(t.net.stats(t.a).droppedBlackhole, 1u);
    t.net.partition(t.a, false);
    t.net.blackhole(kServer1.ip);
    t.alice.sendUdp(kAlice, kServer1, "2");
    t.alice.sendUdp(kAlice, kServer2, "3");
    t.net.runFor(1s);
    EXPECT_EQ(t.net.stats(t.a).droppedBlackhole, 2u);
    EXPECT_TRUE(t.s1.received.empty());
    EXPECT_EQ(t.s2.received.size(), 1u);
    t.net.blackhole(kServer1.ip, false);
    t.alice.sendUdp(kAlice, kServer1, "4");
    t.net.runFor(1s);
    EXPECT_EQ(t.s1.received.size(), 1u);
}

TEST(SimFaults, PacketsInFlightToAPartitionedHostAreLost) {
    OneNat t(NatConfig::fullCone());
    t.net.setDelay(t.h1, 100ms);
    t.alice.sendUdp(kAlice, kServer1, "in flight");
    t.net.runFor(50ms);
    t.net.partition(t.h1);
    t.net.runFor(1s);
    EXPECT_TRUE(t.s1.received.empty());
    EXPECT_EQ(t.net.stats(t.a).droppedBlackhole, 1u);
}

TEST(SimFaults, NatRebootForgetsMappings) {
    OneNat t(NatConfig::cone());
    t.s1.echo = false;
    t.alice.sendUdp(kAlice, kServer1, "hello");
    t.net.runFor(100ms);
    const Endpoint mapped = t.s1.received.at(0).remote;
    t.net.clearNatMappings(t.nat);
    EXPECT_TRUE(t.net.natMappings(t.nat).empty());
    t.s1.sendUdp(kServer1, mapped, "after reboot");
    t.net.runFor(100ms);
    EXPECT_TRUE(t.alice.received.empty());
    EXPECT_EQ(t.net.stats(t.h1).droppedFiltered, 1u);
}

TEST(SimFaults, LossCanBeChangedAtRuntime) {
    OneNat t(NatConfig::fullCone());
    t.s1.echo = false;
    t.net.setLoss(t.h1, 1.0);
    t.alice.sendUdp(kAlice, kServer1, "lost");
    t.net.runFor(100ms);
    t.net.setLoss(t.h1, 0.0);
    t.alice.sendUdp(kAlice, kServer1, "kept");
    t.net.runFor(100ms);
    ASSERT_EQ(t.s1.received.size(), 1u);
    EXPECT_EQ(t.s1.received[0].text(), "kept");
    EXPECT_EQ(t.net.stats(t.a).droppedLoss, 1u);
}

TEST(SimTopology, RejectsDuplicateAddresses) {
    Network net;
    RouterId nat = net.addNat(kNatIp);
    net.addHost("a", {kServer1.ip});
    EXPECT_THROW(net.addHost("b", {kServer1.ip}), SimError);
    EXPECT_THROW(net.addHost("c", {kNatIp}), SimError);
    EXPECT_THROW(net.addNat(kServer1.ip), SimError);
    net.addHost("d", {ip("192.0.2.10")}, nat);
    EXPECT_THROW(net.addHost("e", {ip("192.0.2.10")}, nat), SimError);
    EXPECT_THROW(ip("not an address"), std::invalid_argument);
}
