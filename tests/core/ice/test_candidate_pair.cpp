// CandidatePair: priority (RFC 8445 §6.1.2.3), state transitions and counters.
#include <gtest/gtest.h>

#include "core/ice/candidate_pair.hpp"

using namespace tincan;
using namespace tincan::ice;
using namespace std::chrono_literals;

namespace {

Candidate candidate(CandidateType type, uint32_t localPref, const char* foundation) {
    Candidate c;
    c.type = type;
    c.priority = candidatePriority(type, localPref);
    c.foundation = foundation;
    c.address = Endpoint{IpAddress::v4(192, 0, 2, 1), 5000};
    c.base = c.address;
    return c;
}

PairCheck someCheck(bool useCandidate) {
    return PairCheck{{},
                     {},
                     stun::TransactionTimer(stun::RetransmitPolicy{}, Timestamp{}),
                     useCandidate,
                     Timestamp{}};
}

}  // namespace

TEST(CandidatePair, PriorityFollowsTheRoleOfEachSide) {
    Candidate host = candidate(CandidateType::Host, 65535, "1");      // 2130706431
    Candidate relay = candidate(CandidateType::Relayed, 65535, "2");  // 16777215
    ASSERT_EQ(host.priority, 2130706431u);
    ASSERT_EQ(relay.priority, 16777215u);
    // 2^32 * MIN(G, D) + 2 * MAX(G, D) + (G > D ? 1 : 0), G the controlling side's.
    const uint64_t lo = 16777215, hi = 2130706431;
    CandidatePair controlling(0, 1, host, relay, Role::Controlling);
    EXPECT_EQ(controlling.priority, (lo << 32) + 2 * hi + 1);
    CandidatePair controlled(0, 1, host, relay, Role::Controlled);
    EXPECT_EQ(controlled.priority, (lo << 32) + 2 * hi);
    EXPECT_EQ(controlling.stats.priority, controlling.priority);

    controlling.updatePriority(Role::Controlled, host, relay);
    EXPECT_EQ(controlling.priority, controlled.priority);
    EXPECT_EQ(controlling.stats.priority, controlled.priority);

    EXPECT_EQ(controlling.foundation, "1:2");
    EXPECT_EQ(controlling.local, 0u);
    EXPECT_EQ(controlling.remote, 1u);
    EXPECT_EQ(controlling.state, PairState::Frozen);
}

TEST(CandidatePair, StateTransitions) {
    Candidate l = candidate(CandidateType::Host, 65535, "1");
    Candidate r = candidate(CandidateType::Host, 65535, "2");
    CandidatePair p(0, 0, l, r, Role::Controlling);
    EXPECT_TRUE(p.awaitingCheck());
    EXPECT_FALSE(p.active());
    EXPECT_TRUE(p.unresolved());

    p.state = PairState::Waiting;
    EXPECT_TRUE(p.active());
    p.beginCheck(someCheck(false));
    EXPECT_EQ(p.state, PairState::InProgress);
    EXPECT_TRUE(p.check);
    EXPECT_FALSE(p.awaitingCheck());

    EXPECT_TRUE(p.succeed(false));  // newly valid
    EXPECT_EQ(p.state, PairState::Succeeded);
    EXPECT_FALSE(p.nominated);
    EXPECT_FALSE(p.unresolved());

    // Re-checked to nominate: stays Succeeded; a second success is not "new".
    p.useCandidate = true;
    p.beginCheck(someCheck(true));
    EXPECT_EQ(p.state, PairState::Succeeded);
    EXPECT_FALSE(p.succeed(true));
    EXPECT_TRUE(p.nominated);

    p.fail();
    EXPECT_EQ(p.state, PairState::Failed);
    EXPECT_FALSE(p.useCandidate);
    EXPECT_FALSE(p.check);

    // abandon() (the relay went away) leaves the nomination intent alone.
    CandidatePair q(0, 0, l, r, Role::Controlling);
    q.useCandidate = true;
    q.beginCheck(someCheck(true));
    q.abandon();
    EXPECT_EQ(q.state, PairState::Failed);
    EXPECT_FALSE(q.check);
    EXPECT_TRUE(q.useCandidate);
}

TEST(CandidatePair, CountersAndSnapshot) {
    Candidate l = candidate(CandidateType::Host, 65535, "1");
    Candidate r = candidate(CandidateType::ServerReflexive, 65535, "2");
    CandidatePair p(0, 0, l, r, Role::Controlled);
    Timestamp t = Timestamp{} + 10s;
    p.noteRequestSent(t);
    p.noteRequestSent(t + 1s);
    p.noteResponseReceived(t + 2s);
    p.noteRtt(30ms);
    p.noteRtt(50ms);
    p.noteRequestAnswered(t + 3s);
    p.noteDataSent(t + 4s, 100);
    p.noteDataReceived(t + 5s, 40);
    p.noteDataReceived(t + 6s, 2);

    PairStats s = p.snapshot(l, r, true);
    EXPECT_EQ(s.requestsSent, 2u);
    EXPECT_EQ(s.responsesReceived, 1u);
    EXPECT_EQ(s.requestsReceived, 1u);
    EXPECT_EQ(s.responsesSent, 1u);
    EXPECT_EQ(s.currentRtt, 50ms);
    EXPECT_EQ(s.totalRtt, 80ms);
    EXPECT_EQ(s.rttSamples, 2u);
    EXPECT_EQ(s.packetsSent, 1u);
    EXPECT_EQ(s.bytesSent, 100u);
    EXPECT_EQ(s.packetsReceived, 2u);
    EXPECT_EQ(s.bytesReceived, 42u);
    EXPECT_EQ(s.lastPacketSent, t + 4s);
    EXPECT_EQ(s.lastPacketReceived, t + 6s);
    EXPECT_TRUE(s.selected);
    EXPECT_EQ(s.state, PairState::Frozen);
    EXPECT_EQ(s.priority, p.priority);
    EXPECT_EQ(s.local.type, CandidateType::Host);
    EXPECT_EQ(s.remote.type, CandidateType::ServerReflexive);
}
