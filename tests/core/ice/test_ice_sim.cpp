// Two agents through modelled NATs, in virtual time (tests/sim). Each scenario checks that the
// agents connect by the cheapest path that exists, and report it.
#include <gtest/gtest.h>

#include "tests/core/ice/ice_scenario.hpp"

using namespace tincan;
using namespace tincan::icetest;
using ice::CandidateType;
using ice::PathType;

namespace {

struct Expect {
    Nat natA, natB;
    bool sameLan;
    PathType path;
    std::optional<TransportProtocol> relayProtocol;
};

std::string describe(const Expect& e) {
    return std::string(e.sameLan ? "same-lan " : "") + toString(e.natA) + " <-> " +
           toString(e.natB);
}

void expectPath(Scenario& s, PathType path, std::optional<TransportProtocol> relayProtocol) {
    for (auto* p : {&s.a, &s.b}) {
        auto sel = p->agent->selectedPair();
        ASSERT_TRUE(sel) << p->name;
        EXPECT_EQ(sel->path, path)
            << p->name << ": " << ice::toString(sel->path) << " via "
            << ice::toString(sel->local.type) << " -> " << ice::toString(sel->remote.type);
        if (relayProtocol && sel->local.type == CandidateType::Relayed) {
            EXPECT_EQ(sel->relayProtocol, relayProtocol) << p->name;
        }
    }
}

}  // namespace

class NatMatrix : public ::testing::TestWithParam<Expect> {};

TEST_P(NatMatrix, ConnectsByTheCheapestPath) {
    const Expect& e = GetParam();
    ScenarioOptions o;
    o.natA = e.natA;
    o.natB = e.natB;
    o.sameLan = e.sameLan;
    Scenario s(o);
    s.start();
    ASSERT_TRUE(s.runUntilConnected(30s)) << describe(e);
    // Nomination settles on the best pair; run a little longer before judging the path.
    s.runFor(2s);
    expectPath(s, e.path, e.relayProtocol);
    uint64_t relayedBefore = s.turn->stats().relayedToPeer + s.turn->stats().relayedToClient;
    EXPECT_TRUE(s.exchangeData()) << describe(e);
    uint64_t relayedData =
        s.turn->stats().relayedToPeer + s.turn->stats().relayedToClient - relayedBefore;
    if (e.path == PathType::Relay) {
        EXPECT_GE(relayedData, 2u) << "the data went through the relay";
    } else {
        EXPECT_EQ(relayedData, 0u) << "no data through the relay when a direct path exists";
    }
}

INSTANTIATE_TEST_SUITE_P(
    Topologies, NatMatrix,
    ::testing::Values(
        Expect{Nat::Cone, Nat::Cone, true, PathType::Lan, {}},
        Expect{Nat::None, Nat::None, false, PathType::Lan, {}},
        Expect{Nat::Cone, Nat::Cone, false, PathType::Direct, {}},
        Expect{Nat::FullCone, Nat::Symmetric, false, PathType::Direct, {}},
        Expect{Nat::RestrictedCone, Nat::Symmetric, false, PathType::Direct, {}},
        Expect{Nat::Cone, Nat::None, false, PathType::Direct, {}},
        Expect{Nat::Cone, Nat::Symmetric, false, PathType::Relay, {}},
        Expect{Nat::Symmetric, Nat::Symmetric, false, PathType::Relay, TransportProtocol::Udp},
        Expect{Nat::UdpBlocked, Nat::UdpBlocked, false, PathType::Relay, TransportProtocol::Tcp},
        Expect{Nat::UdpBlocked, Nat::Cone, false, PathType::Relay, TransportProtocol::Tcp}),
    [](const auto& info) {
        std::string n = describe(info.param);
        for (auto& c : n)
            if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
        return n;
    });

TEST(IceSim, RelayPolicyUsesOnlyRelayedCandidates) {
    ScenarioOptions o;
    o.natA = Nat::Cone;
    o.natB = Nat::Cone;
    o.policyA = ice::TransportPolicy::Relay;
    Scenario s(o);
    s.start();
    ASSERT_TRUE(s.runUntilConnected(30s));
    s.runFor(1s);
    auto sel = s.a.agent->selectedPair();
    ASSERT_TRUE(sel);
    EXPECT_EQ(sel->local.type, CandidateType::Relayed);
    EXPECT_EQ(sel->path, PathType::Relay);
    // A signals nothing but relayed candidates: B never saw A's host or srflx address.
    for (const auto& c : s.b.agent->stats().remoteCandidates)
        EXPECT_TRUE(c.type == CandidateType::Relayed || c.type == CandidateType::PeerReflexive)
            << ice::toString(c.type) << " " << c.address.toString();
    EXPECT_TRUE(s.exchangeData());
}

TEST(IceSim, ConnectsThroughLossAndDelay) {
    for (uint64_t seed = 1; seed <= 5; ++seed) {
        ScenarioOptions o;
        o.loss = 0.10;
        o.wanDelay = 40ms;
        o.seed = seed;
        Scenario s(o);
        s.start();
        ASSERT_TRUE(s.runUntilConnected(30s)) << "seed " << seed;
        s.runFor(2s);
        expectPath(s, PathType::Direct, {});
    }
}

TEST(IceSim, SameSeedSameTimeline) {
    auto run = [](uint64_t seed) {
        ScenarioOptions o;
        o.natA = Nat::Symmetric;
        o.natB = Nat::Symmetric;
        o.loss = 0.05;
        o.seed = seed;
        Scenario s(o);
        s.start();
        EXPECT_TRUE(s.runUntilConnected(30s));
        return std::make_pair(*s.connectTime(), s.net.totals());
    };
    auto first = run(7);
    auto second = run(7);
    EXPECT_EQ(first.first, second.first);
    EXPECT_EQ(first.second, second.second);
}

TEST(IceSim, UnreachableStunServerCostsNoSerialTimeout) {
    ScenarioOptions o;
    o.natA = Nat::Symmetric;
    o.natB = Nat::Symmetric;
    o.stunUnreachable = true;
    Scenario s(o);
    s.start();
    ASSERT_TRUE(s.runUntilConnected(30s));
    // Checks run while the STUN transactions are still retransmitting.
    EXPECT_LT(*s.connectTime(), 1500ms);
}

TEST(IceSim, UdpBlockedConnectsWithinOneAndAHalfSeconds) {
    ScenarioOptions o;
    o.natA = Nat::UdpBlocked;
    o.natB = Nat::UdpBlocked;
    Scenario s(o);
    s.start();
    ASSERT_TRUE(s.runUntilConnected(30s));
    EXPECT_LT(*s.connectTime(), 1500ms);
}

TEST(IceSim, IceRestartMovesToNewPairWithoutLosingData) {
    Scenario s(ScenarioOptions{});
    s.start();
    ASSERT_TRUE(s.runUntilConnected(30s));
    s.runFor(1s);
    auto credsBefore = s.a.agent->localCredentials();
    size_t selectionsBefore = s.a.selections.size();
    s.restartBoth();
    // While the new session checks, the old pair still carries data.
    EXPECT_TRUE(s.exchangeData());
    ASSERT_TRUE(s.runUntil([&] { return s.a.selections.size() > selectionsBefore; }, 10s));
    EXPECT_NE(s.a.agent->localCredentials().ufrag, credsBefore.ufrag);
    EXPECT_TRUE(s.bothConnected());
    EXPECT_TRUE(s.exchangeData());
}

TEST(IceSim, ConsentLossAfterPartition) {
    Scenario s(ScenarioOptions{});
    s.start();
    ASSERT_TRUE(s.runUntilConnected(30s));
    s.runFor(10s);
    Timestamp cut = s.net.now();
    s.net.partition(s.b.host);
    ASSERT_TRUE(s.runUntil([&] { return s.a.agent->state() == ice::IceState::Disconnected; }, 20s));
    ASSERT_TRUE(s.runUntil([&] { return s.a.agent->state() == ice::IceState::Failed; }, 40s));
    EXPECT_GE(s.net.now() - cut, 25s);
    EXPECT_LE(s.net.now() - cut, 32s);
}

TEST(IceSim, RecoversFromShortOutage) {
    Scenario s(ScenarioOptions{});
    s.start();
    ASSERT_TRUE(s.runUntilConnected(30s));
    s.runFor(5s);
    s.net.partition(s.b.host);
    ASSERT_TRUE(s.runUntil([&] { return s.a.agent->state() == ice::IceState::Disconnected; }, 20s));
    s.net.partition(s.b.host, false);
    ASSERT_TRUE(s.runUntil([&] { return s.bothConnected(); }, 10s));
    EXPECT_TRUE(s.exchangeData());
}
