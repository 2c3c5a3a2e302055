// The real tincan::turn::TurnClient against SimTurnServer, through NATs, over UDP, TCP and TLS.
// (Built only when core/turn/turn_client.cpp exists; see CMakeLists.txt.)
#include <gtest/gtest.h>

#include "core/common/random.hpp"
#include "core/turn/turn_client.hpp"
#include "tests/sim/network.hpp"
#include "tests/sim/probe.hpp"
#include "tests/sim/turn_server.hpp"

using namespace tincan;
using namespace tincan::sim;

namespace {

const Endpoint kTurnUdp = ep("203.0.113.3:3478");
const Endpoint kTurnTls = ep("203.0.113.3:5349");
const IpAddress kClientIp = ip("192.0.2.10");

// Runs a TurnClient as a host's machine: what the client sends goes to its server from
// `local` ({ip, port} over UDP, {ip, 0} over TCP/TLS); what comes from the server goes in.
class TurnClientMachine : public SansIoMachine {
public:
    TurnClientMachine(turn::TurnClient& client, Endpoint local) : client_(client), local_(local) {}

    void handlePacket(Timestamp now, const PacketView& p) override {
        if (p.protocol == client_.config().transport && p.remote == client_.config().server)
            client_.handleIncoming(now, p.data);
    }
    void handleStreamState(Timestamp now, TransportProtocol, const Endpoint&, const Endpoint&,
                           StreamState state) override {
        client_.handleStreamState(now, state);
    }
    void handleTimeout(Timestamp now) override { client_.handleTimeout(now); }
    std::optional<Packet> pollTransmit() override {
        auto bytes = client_.pollOutgoing();
        if (!bytes) return std::nullopt;
        return Packet{client_.config().transport, local_, client_.config().server,
                      std::move(*bytes)};
    }
    std::optional<Timestamp> pollTimeout() override { return client_.pollTimeout(); }

private:
    turn::TurnClient& client_;
    Endpoint local_;
};

struct Scenario {
    explicit Scenario(TransportProtocol transport, uint64_t seed = 1)
        : net(seed),
          random(seed + 100),
          server([] {
              TurnServerConfig c;
              c.users = {{"alice", "secret"}};
              return c;
          }()),
          client(turn::ServerConfig{transport == TransportProtocol::Tls ? kTurnTls : kTurnUdp,
                                    transport, "alice", "secret"},
                 random),
          machine(client, transport == TransportProtocol::Udp ? Endpoint{kClientIp, 5000}
                                                              : Endpoint{kClientIp, 0}) {
        nat = net.addNat(ip("198.51.100.1"), NatConfig::cone());
        clientHost = net.addHost("client", {kClientIp}, nat);
        net.addHost("turn", {kTurnUdp.ip}, std::nullopt, &server);
    }

    // Starts the client and runs until it is allocated (or failed).
    bool allocate() {
        net.attach(clientHost, &machine, [this] {
            while (auto e = client.pollEvent()) events.push_back(std::move(*e));
        });
        client.start(net.now());
        net.drain(clientHost);
        return net.runUntil(
                   [&] {
                       return client.state() != turn::State::Allocating &&
                              client.state() != turn::State::New;
                   },
                   60s) &&
               client.state() == turn::State::Allocated;
    }

    std::vector<turn::event::PeerData> peerData() const {
        std::vector<turn::event::PeerData> out;
        for (const auto& e : events)
            if (auto* d = std::get_if<turn::event::PeerData>(&e)) out.push_back(*d);
        return out;
    }

    void sendTo(const Endpoint& peer, std::string_view text) {
        client.sendTo(net.now(), peer, asBytes(text));
        net.drain(clientHost);
    }

    Network net;
    Random random;
    SimTurnServer server;
    turn::TurnClient client;
    TurnClientMachine machine;
    RouterId nat{};
    HostId clientHost{};
    std::vector<turn::Event> events;
};

}  // namespace

class SimTurnClient : public ::testing::TestWithParam<TransportProtocol> {};

TEST_P(SimTurnClient, AllocatesAndRelaysBothWaysToAPeer) {
    Scenario s(GetParam());
    ProbeMachine peer;
    peer.echo = true;
    const Endpoint peerEp = ep("203.0.113.60:7000");
    s.net.addHost("peer", {peerEp.ip}, std::nullopt, &peer);

    ASSERT_TRUE(s.allocate());
    ASSERT_TRUE(s.client.relayedAddress());
    EXPECT_EQ(s.client.relayedAddress()->ip, kTurnUdp.ip);
    ASSERT_TRUE(s.client.mappedAddress());
    EXPECT_EQ(s.client.mappedAddress()->ip, ip("198.51.100.1"));
    ASSERT_FALSE(s.events.empty());
    ASSERT_TRUE(std::holds_alternative<turn::event::Allocated>(s.events.front()));
    EXPECT_EQ(std::get<turn::event::Allocated>(s.events.front()).relayed,
              *s.client.relayedAddress());
    EXPECT_EQ(s.server.allocationCount(), 1u);

    // Before the permission is installed, sendTo() queues; then Send/ChannelData carry it.
    for (int i = 0; i < 10; ++i) s.sendTo(peerEp, "message " + std::to_string(i));
    ASSERT_TRUE(s.net.runUntil([&] { return s.peerData().size() >= 10; }, 10s))
        << "peer got " << peer.received.size();
    ASSERT_EQ(peer.received.size(), 10u);
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(peer.received[size_t(i)].remote, *s.client.relayedAddress());
        EXPECT_EQ(peer.received[size_t(i)].text(), "message " + std::to_string(i));
    }
    auto data = s.peerData();
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(data[size_t(i)].peer, peerEp);
        EXPECT_EQ(asString(data[size_t(i)].data), "message " + std::to_string(i));
    }

    // Later traffic, with the channel bound by now: still fine both ways.
    s.net.runFor(5s);
    s.sendTo(peerEp, "later");
    ASSERT_TRUE(s.net.runUntil([&] { return s.peerData().size() == 11; }, 5s));
    EXPECT_EQ(asString(s.peerData().back().data), "later");
    EXPECT_GE(s.server.stats().relayedToPeer, 11u);
    EXPECT_GE(s.server.stats().relayedToClient, 11u);
    EXPECT_EQ(s.server.stats().malformed, 0u);
}

TEST_P(SimTurnClient, ReachesAPeerBehindANat) {
    Scenario s(GetParam());
    ProbeMachine peer;
    peer.echo = true;
    RouterId peerNat = s.net.addNat(ip("198.51.100.2"), NatConfig::cone());
    const Endpoint peerLocal = ep("192.0.2.130:7000");
    s.net.addHost("peer", {peerLocal.ip}, peerNat, &peer);
    ASSERT_TRUE(s.allocate());
    const Endpoint relayed = *s.client.relayedAddress();

    // The peer knocks first (the server drops it: no permission yet) — this opens its NAT.
    peer.sendUdp(peerLocal, relayed, "knock");
    s.net.runFor(1s);
    EXPECT_EQ(s.server.stats().droppedNoPermission, 1u);
    const Endpoint peerPublic{ip("198.51.100.2"), 7000};  // cone NAT keeps the port

    s.sendTo(peerPublic, "through two NATs");
    ASSERT_TRUE(s.net.runUntil([&] { return !s.peerData().empty(); }, 10s));
    EXPECT_EQ(asString(s.peerData()[0].data), "through two NATs");
    EXPECT_EQ(s.peerData()[0].peer, peerPublic);
    ASSERT_EQ(peer.received.size(), 1u);
    EXPECT_EQ(peer.received[0].remote, relayed);
}

TEST_P(SimTurnClient, CloseDeletesTheAllocation) {
    Scenario s(GetParam());
    ASSERT_TRUE(s.allocate());
    EXPECT_EQ(s.server.allocationCount(), 1u);
    s.client.close(s.net.now());
    s.net.drain(s.clientHost);
    ASSERT_TRUE(s.net.runUntil([&] { return s.client.state() == turn::State::Closed; }, 60s));
    EXPECT_EQ(s.server.allocationCount(), 0u);
    EXPECT_EQ(s.server.stats().allocationsDeleted, 1u);
}

TEST_P(SimTurnClient, KeepsTheAllocationAliveLongerThanItsLifetime) {
    Scenario s(GetParam());
    ASSERT_TRUE(s.allocate());
    s.net.runFor(30min);  // lifetime 600 s: the client must have refreshed it
    EXPECT_EQ(s.client.state(), turn::State::Allocated);
    EXPECT_EQ(s.server.allocationCount(), 1u);
    EXPECT_EQ(s.server.stats().allocationsExpired, 0u);
}

INSTANTIATE_TEST_SUITE_P(Transports, SimTurnClient,
                         ::testing::Values(TransportProtocol::Udp, TransportProtocol::Tcp,
                                           TransportProtocol::Tls),
                         [](const auto& info) { return std::string(toString(info.param)); });

TEST(SimTurnClientLossy, AllocatesAndRelaysOverALossyLink) {
    Scenario s(TransportProtocol::Udp, 9);
    s.net.setLoss(s.clientHost, 0.2);
    ProbeMachine peer;
    peer.echo = true;
    const Endpoint peerEp = ep("203.0.113.60:7000");
    s.net.addHost("peer", {peerEp.ip}, std::nullopt, &peer);
    ASSERT_TRUE(s.allocate());
    // Keep sending until a few echoes made it through both lossy crossings.
    bool done = false;
    for (int i = 0; i < 50 && !done; ++i) {
        s.sendTo(peerEp, "ping");
        done = s.net.runUntil([&] { return s.peerData().size() >= 5; }, 200ms);
    }
    EXPECT_TRUE(done);
    EXPECT_GT(s.net.stats(s.clientHost).droppedLoss, 0u);
}
