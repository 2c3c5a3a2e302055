// Two agents on one wire (no NAT), in virtual time: the agent's own logic, isolated from any
// network model. The NAT scenarios live in tests/sim.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <queue>

#include "core/ice/agent.hpp"
#include "core/stun/message.hpp"

using namespace tincan;
using namespace tincan::ice;

namespace {

struct Peer {
    std::unique_ptr<Random> random;
    std::unique_ptr<Agent> agent;
    std::vector<Candidate> gathered;
    std::vector<IceState> states;
    std::vector<CandidatePairInfo> selections;
    std::vector<Bytes> received;
    bool signalCandidates = true;
    bool gatheringDone = false;
};

class Wire {
public:
    explicit Wire(Duration delay = 2ms) : delay_(delay) {}

    Peer& add(AgentConfig cfg, const char* base, uint64_t seed) {
        auto p = std::make_unique<Peer>();
        p->random = std::make_unique<Random>(seed);
        p->agent = std::make_unique<Agent>(cfg, *p->random);
        p->agent->addHostBase(*Endpoint::parse(base));
        owners_[Endpoint::parse(base)->ip] = p.get();
        peers_.push_back(std::move(p));
        return *peers_.back();
    }

    // Exchange credentials, then start both (candidates trickle through events).
    void start(bool credsFirst = true) {
        Peer& a = *peers_[0];
        Peer& b = *peers_[1];
        if (credsFirst) exchangeCredentials();
        a.agent->startGathering(now_);
        b.agent->startGathering(now_);
        pump();
    }

    void exchangeCredentials() {
        Peer& a = *peers_[0];
        Peer& b = *peers_[1];
        a.agent->setRemoteCredentials(now_, b.agent->localCredentials());
        b.agent->setRemoteCredentials(now_, a.agent->localCredentials());
    }

    // A second host base for `p` (another interface).
    void addBase(Peer& p, const char* base) {
        p.agent->addHostBase(*Endpoint::parse(base));
        owners_[Endpoint::parse(base)->ip] = &p;
    }

    Peer& other(Peer& p) { return &p == peers_[0].get() ? *peers_[1] : *peers_[0]; }

    void pump() {
        for (auto& p : peers_) {
            while (auto pkt = p->agent->pollTransmit()) {
                if (cut_) {
                    dropped_++;
                    continue;
                }
                queue_.push(InFlight{now_ + delay_, seq_++, std::move(*pkt)});
            }
            while (auto ev = p->agent->pollEvent()) {
                if (auto* c = std::get_if<event::LocalCandidate>(&*ev)) {
                    p->gathered.push_back(c->candidate);
                    if (p->signalCandidates) {
                        EXPECT_TRUE(
                            other(*p).agent->addRemoteCandidate(now_, c->candidate.toSdp()).ok());
                    }
                } else if (auto* s = std::get_if<event::StateChanged>(&*ev)) {
                    p->states.push_back(s->state);
                } else if (auto* sel = std::get_if<event::SelectedPairChanged>(&*ev)) {
                    p->selections.push_back(sel->pair);
                } else if (auto* d = std::get_if<event::Data>(&*ev)) {
                    p->received.push_back(d->data);
                } else if (auto* g = std::get_if<event::GatheringStateChanged>(&*ev)) {
                    if (g->state == GatheringState::Complete) p->gatheringDone = true;
                }
            }
        }
    }

    // Advances virtual time until `done` or `limit`.
    bool runUntil(const std::function<bool()>& done, Duration limit) {
        Timestamp end = now_ + limit;
        for (int guard = 0; guard < 1000000; ++guard) {
            pump();
            if (done()) return true;
            std::optional<Timestamp> next;
            if (!queue_.empty()) next = queue_.top().at;
            for (auto& p : peers_)
                if (auto t = p->agent->pollTimeout(); t && (!next || *t < *next)) next = *t;
            if (!next || *next > end) {
                now_ = end;
                return done();
            }
            now_ = std::max(now_, *next);
            while (!queue_.empty() && queue_.top().at <= now_) {
                InFlight f = queue_.top();
                queue_.pop();
                auto it = owners_.find(f.pkt.remote.ip);
                if (it == owners_.end()) continue;
                PacketView v{f.pkt.protocol, f.pkt.remote, f.pkt.local, f.pkt.data};
                it->second->agent->handlePacket(now_, v);
                pump();
            }
            for (auto& p : peers_)
                if (auto t = p->agent->pollTimeout(); t && *t <= now_)
                    p->agent->handleTimeout(now_);
        }
        ADD_FAILURE() << "busy loop";
        return false;
    }

    bool connected() {
        return std::all_of(peers_.begin(), peers_.end(), [](auto& p) {
            return p->agent->state() == IceState::Connected ||
                   p->agent->state() == IceState::Completed;
        });
    }

    Timestamp now() const { return now_; }
    void cut(bool c) { cut_ = c; }
    uint64_t dropped() const { return dropped_; }
    Peer& a() { return *peers_[0]; }
    Peer& b() { return *peers_[1]; }
    // Injects a raw datagram as if it came from `from` to `to`.
    void inject(const Endpoint& from, const Endpoint& to, Bytes data) {
        queue_.push(
            InFlight{now_, seq_++, Packet{TransportProtocol::Udp, from, to, std::move(data)}});
    }

private:
    struct InFlight {
        Timestamp at;
        uint64_t seq;
        Packet pkt;
        bool operator<(const InFlight& o) const { return at != o.at ? at > o.at : seq > o.seq; }
    };
    Duration delay_;
    Timestamp now_ = Timestamp{} + 1000s;
    std::priority_queue<InFlight> queue_;
    uint64_t seq_ = 0;
    std::map<IpAddress, Peer*> owners_;
    std::vector<std::unique_ptr<Peer>> peers_;
    bool cut_ = false;
    uint64_t dropped_ = 0;
};

AgentConfig config(Role role) {
    AgentConfig c;
    c.role = role;
    return c;
}

}  // namespace

TEST(AgentWire, HostToHostConnectsAndCarriesData) {
    Wire w;
    w.add(config(Role::Controlling), "192.0.2.1:1000", 1);
    w.add(config(Role::Controlled), "192.0.2.2:2000", 2);
    Timestamp t0 = w.now();
    w.start();
    ASSERT_TRUE(w.runUntil([&] { return w.connected(); }, 5s));
    // One round trip for the check, one for the triggered check: well under 50 ms at 2 ms delay.
    EXPECT_LT(w.now() - t0, 20ms);
    auto sel = w.a().agent->selectedPair();
    ASSERT_TRUE(sel);
    EXPECT_EQ(sel->path, PathType::Lan);
    EXPECT_EQ(sel->local.address.toString(), "192.0.2.1:1000");
    EXPECT_EQ(sel->remote.address.toString(), "192.0.2.2:2000");
    // The controlling side nominates; both end up on a nominated pair.
    ASSERT_TRUE(w.runUntil(
        [&] {
            auto st = w.b().agent->stats();
            return std::any_of(st.pairs.begin(), st.pairs.end(),
                               [](auto& p) { return p.nominated && p.selected; });
        },
        2s));

    Bytes hello{0x17, 0xfe, 0xfd, 1, 2, 3};  // looks like DTLS, not STUN
    ASSERT_TRUE(w.a().agent->send(w.now(), hello));
    ASSERT_TRUE(w.b().agent->send(w.now(), Bytes{0x80, 0, 1}));
    w.runUntil([&] { return !w.b().received.empty() && !w.a().received.empty(); }, 1s);
    ASSERT_EQ(w.b().received.size(), 1u);
    EXPECT_EQ(w.b().received[0], hello);
    ASSERT_EQ(w.a().received.size(), 1u);
}

TEST(AgentWire, CandidatesBeforeCredentialsAreBuffered) {
    Wire w;
    w.add(config(Role::Controlling), "192.0.2.1:1000", 3);
    w.add(config(Role::Controlled), "192.0.2.2:2000", 4);
    w.start(/*credsFirst=*/false);
    w.runUntil([] { return false; }, 200ms);
    EXPECT_EQ(w.a().agent->state(), IceState::New);  // no credentials, no checks
    w.exchangeCredentials();
    EXPECT_TRUE(w.runUntil([&] { return w.connected(); }, 2s));
}

TEST(AgentWire, LearnsPeerReflexiveWhenHostIsHidden) {
    // Like a browser that signals no host candidate: A must learn B from B's checks.
    Wire w;
    w.add(config(Role::Controlling), "192.168.1.1:1000", 5);
    Peer& b = w.add(config(Role::Controlled), "192.168.1.2:2000", 6);
    b.signalCandidates = false;
    w.start();
    ASSERT_TRUE(w.runUntil([&] { return w.connected(); }, 5s));
    auto sel = w.a().agent->selectedPair();
    ASSERT_TRUE(sel);
    EXPECT_EQ(sel->remote.type, CandidateType::PeerReflexive);
    EXPECT_EQ(sel->remote.address.toString(), "192.168.1.2:2000");
    // A private address on our own subnet: a LAN path even though the host was hidden.
    // (Unit test only: no packet leaves the process.)
    EXPECT_EQ(sel->path, PathType::Lan);
}

TEST(AgentWire, RoleConflictResolves) {
    Wire w;
    w.add(config(Role::Controlling), "192.0.2.1:1000", 7);
    w.add(config(Role::Controlling), "192.0.2.2:2000", 8);
    w.start();
    ASSERT_TRUE(w.runUntil([&] { return w.connected(); }, 5s));
    EXPECT_NE(w.a().agent->role(), w.b().agent->role());
    EXPECT_GT(w.a().agent->stats().roleConflicts + w.b().agent->stats().roleConflicts, 0u);
}

TEST(AgentWire, ConsentLossGoesDisconnectedThenFailed) {
    Wire w;
    w.add(config(Role::Controlling), "192.0.2.1:1000", 9);
    w.add(config(Role::Controlled), "192.0.2.2:2000", 10);
    w.start();
    ASSERT_TRUE(w.runUntil([&] { return w.connected(); }, 5s));
    // Healthy for a minute: consent checks keep it connected.
    w.runUntil([] { return false; }, 60s);
    EXPECT_TRUE(w.connected());
    Timestamp cutAt = w.now();
    w.cut(true);
    ASSERT_TRUE(w.runUntil([&] { return w.a().agent->state() == IceState::Disconnected; }, 20s));
    EXPECT_LT(w.now() - cutAt, 12s);
    ASSERT_TRUE(w.runUntil([&] { return w.a().agent->state() == IceState::Failed; }, 40s));
    Duration took = w.now() - cutAt;
    EXPECT_GE(took, 25s);  // consent lasts 30 s after the last answer (RFC 7675)
    EXPECT_LE(took, 31s);
    EXPECT_NE(w.a().agent->failureReason().find("consent"), std::string::npos);
}

TEST(AgentWire, DisconnectedRecoversWhenChecksResume) {
    Wire w;
    w.add(config(Role::Controlling), "192.0.2.1:1000", 11);
    w.add(config(Role::Controlled), "192.0.2.2:2000", 12);
    w.start();
    ASSERT_TRUE(w.runUntil([&] { return w.connected(); }, 5s));
    w.cut(true);
    ASSERT_TRUE(w.runUntil([&] { return w.a().agent->state() == IceState::Disconnected; }, 20s));
    w.cut(false);
    ASSERT_TRUE(w.runUntil(
        [&] {
            return w.a().agent->state() == IceState::Connected ||
                   w.a().agent->state() == IceState::Completed;
        },
        5s));
}

TEST(AgentWire, IceRestartKeepsDataFlowing) {
    Wire w;
    w.add(config(Role::Controlling), "192.0.2.1:1000", 13);
    w.add(config(Role::Controlled), "192.0.2.2:2000", 14);
    w.start();
    ASSERT_TRUE(w.runUntil([&] { return w.connected(); }, 5s));
    auto oldCreds = w.a().agent->localCredentials();
    size_t selectionsBefore = w.a().selections.size();
    w.a().agent->restart(w.now());
    EXPECT_NE(w.a().agent->localCredentials().ufrag, oldCreds.ufrag);
    // Until the new session selects, the old pair still carries data.
    EXPECT_TRUE(w.a().agent->send(w.now(), Bytes{0x16, 1}));
    // The remote gets the new credentials (as in a new offer) and restarts too.
    w.b().agent->setRemoteCredentials(w.now(), w.a().agent->localCredentials());
    w.a().agent->setRemoteCredentials(w.now(), w.b().agent->localCredentials());
    ASSERT_TRUE(w.runUntil([&] { return w.a().selections.size() > selectionsBefore; }, 5s));
    EXPECT_TRUE(w.connected());
    EXPECT_TRUE(w.a().agent->send(w.now(), Bytes{0x16, 2}));
    w.runUntil([&] { return w.b().received.size() >= 2; }, 1s);
    EXPECT_EQ(w.b().received.size(), 2u);
}

TEST(AgentWire, WrongPasswordNeverConnects) {
    Wire w;
    w.add(config(Role::Controlling), "192.0.2.1:1000", 15);
    w.add(config(Role::Controlled), "192.0.2.2:2000", 16);
    w.a().agent->setRemoteCredentials(
        w.now(), {w.b().agent->localCredentials().ufrag, "wrong-password-wrong-pwd"});
    w.b().agent->setRemoteCredentials(w.now(), w.a().agent->localCredentials());
    w.a().agent->startGathering(w.now());
    w.b().agent->startGathering(w.now());
    EXPECT_FALSE(w.runUntil([&] { return w.connected(); }, 3s));
    EXPECT_GT(w.b().agent->stats().stunUnauthorized, 0u);
}

TEST(AgentWire, MalformedStunIsDroppedAndCounted) {
    Wire w;
    w.add(config(Role::Controlling), "192.0.2.1:1000", 17);
    w.add(config(Role::Controlled), "192.0.2.2:2000", 18);
    w.start();
    ASSERT_TRUE(w.runUntil([&] { return w.connected(); }, 5s));
    Bytes junk = {
        0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42, 1,    2, 3, 4, 5, 6, 7,
        8,    9,    10,   11,   12,   0x00, 0x06, 0x00, 0x40, 0, 0, 0, 0};  // attribute runs past
                                                                            // the end
    w.inject(*Endpoint::parse("192.0.2.2:2000"), *Endpoint::parse("192.0.2.1:1000"), junk);
    w.runUntil([] { return false; }, 10ms);
    EXPECT_EQ(w.a().agent->stats().stunMalformedDropped, 1u);
    EXPECT_TRUE(w.connected());
}

TEST(AgentWire, NoRemoteCandidatesFailsAfterCheckingTimeout) {
    Wire w;
    AgentConfig ca = config(Role::Controlling);
    ca.checkingTimeout = 10s;
    w.add(ca, "192.0.2.1:1000", 19);
    w.add(config(Role::Controlled), "192.0.2.2:2000", 20);
    w.a().signalCandidates = w.b().signalCandidates = false;
    ASSERT_TRUE(
        w.a()
            .agent
            ->addRemoteCandidate(w.now(), "candidate:1 1 udp 2130706431 192.0.2.99 9 typ host")
            .ok());
    w.start();
    w.a().agent->endOfRemoteCandidates(w.now());
    ASSERT_TRUE(w.runUntil([&] { return w.a().agent->state() == IceState::Failed; }, 20s));
    EXPECT_FALSE(w.a().agent->failureReason().empty());
}

TEST(AgentWire, AcceptsAggressiveNominationAsControlled) {
    Wire w;
    AgentConfig ca = config(Role::Controlling);
    ca.aggressiveNomination = true;
    w.add(ca, "192.0.2.1:1000", 21);
    w.add(config(Role::Controlled), "192.0.2.2:2000", 22);
    w.start();
    ASSERT_TRUE(w.runUntil([&] { return w.connected(); }, 5s));
    // The first check already carried USE-CANDIDATE: B's pair is nominated without any
    // separate nomination round.
    auto st = w.b().agent->stats();
    auto selected =
        std::find_if(st.pairs.begin(), st.pairs.end(), [](auto& p) { return p.selected; });
    ASSERT_NE(selected, st.pairs.end());
    EXPECT_TRUE(selected->nominated);
}

namespace {

std::string selectedRemote(Peer& p) {
    auto sel = p.agent->selectedPair();
    return sel ? sel->remote.address.toString() : "";
}
std::string selectedLocal(Peer& p) {
    auto sel = p.agent->selectedPair();
    return sel ? sel->local.address.toString() : "";
}

}  // namespace

TEST(AgentWire, AggressiveNominationOfSeveralPairsEndsOnOnePair) {
    Wire w;
    AgentConfig ca = config(Role::Controlling);
    ca.aggressiveNomination = true;
    Peer& a = w.add(ca, "192.0.2.1:1000", 25);
    w.addBase(a, "192.0.2.3:1000");
    w.add(config(Role::Controlled), "192.0.2.2:2000", 26);
    w.start();
    ASSERT_TRUE(w.runUntil([&] { return w.connected(); }, 5s));
    w.runUntil([] { return false; }, 3s);
    // Every check nominated its pair, once each: both sides take the highest-priority one
    // (a single nomination says nothing about which pair the peer prefers).
    auto st = w.b().agent->stats();
    EXPECT_EQ(std::count_if(st.pairs.begin(), st.pairs.end(), [](auto& p) { return p.nominated; }),
              2);
    EXPECT_EQ(selectedRemote(w.b()), selectedLocal(w.a()));
    EXPECT_EQ(selectedLocal(w.b()), selectedRemote(w.a()));
}

TEST(AgentWire, ControlledFollowsThePeerToAnotherNominatedPair) {
    Wire w;
    Peer& a = w.add(config(Role::Controlling), "192.0.2.1:1000", 27);
    w.addBase(a, "192.0.2.3:1000");
    Peer& b = w.add(config(Role::Controlled), "192.0.2.2:2000", 28);
    w.start();
    ASSERT_TRUE(w.runUntil(
        [&] {
            auto st = b.agent->stats();
            return w.connected() && std::any_of(st.pairs.begin(), st.pairs.end(),
                                                [](auto& p) { return p.nominated && p.selected; });
        },
        5s));
    w.runUntil([] { return false; }, 1s);  // B's own checks of both pairs are done
    const std::string first = selectedRemote(b);
    const std::string other = first == "192.0.2.1:1000" ? "192.0.2.3:1000" : "192.0.2.1:1000";
    const Endpoint from = *Endpoint::parse(other), to = *Endpoint::parse("192.0.2.2:2000");
    // The controlling peer switches pairs the way libwebrtc does: it nominates the other pair
    // too (USE-CANDIDATE), then sends its data there.
    Random random(29);
    auto msg = stun::Message::request(stun::Method::Binding, random);
    msg.addString(stun::attr::Username,
                  b.agent->localCredentials().ufrag + ":" + a.agent->localCredentials().ufrag);
    msg.addU32(stun::attr::Priority, 1845501695);
    msg.addU64(stun::attr::IceControlling, 1);
    msg.addFlag(stun::attr::UseCandidate);
    stun::Integrity integrity{stun::shortTermKey(b.agent->localCredentials().pwd), false};
    w.inject(from, to, msg.encode(&integrity, true));
    w.runUntil([] { return false; }, 50ms);
    // A nomination alone (an aggressive peer nominates every pair) is not a switch.
    EXPECT_EQ(selectedRemote(b), first);
    w.inject(from, to, Bytes{0x17, 0xfe, 0xfd, 0, 1});  // DTLS-looking data
    w.runUntil([] { return false; }, 50ms);
    EXPECT_EQ(selectedRemote(b), other);
    ASSERT_FALSE(b.received.empty());
    // And back when the peer's data returns to the first pair.
    w.inject(*Endpoint::parse(first), to, Bytes{0x17, 0xfe, 0xfd, 0, 2});
    w.runUntil([] { return false; }, 50ms);
    EXPECT_EQ(selectedRemote(b), first);
}

TEST(AgentWire, ResolvesMdnsCandidatesWithoutBlocking) {
    Wire w;
    w.add(config(Role::Controlling), "192.0.2.1:1000", 23);
    Peer& b = w.add(config(Role::Controlled), "192.0.2.2:2000", 24);
    b.signalCandidates = false;
    w.exchangeCredentials();
    w.a().agent->startGathering(w.now());
    // B signals its host candidate behind an mDNS name, as browsers do.
    ASSERT_TRUE(w.a()
                    .agent
                    ->addRemoteCandidate(w.now(),
                                         "candidate:1 1 udp 2122260223 "
                                         "1f4712db-ea17-4bcf-a596-105139dfd8bf.local 2000 typ host")
                    .ok());
    std::optional<std::string> query;
    while (auto ev = w.a().agent->pollEvent())
        if (auto* q = std::get_if<event::MdnsQuery>(&*ev)) query = q->hostname;
    ASSERT_TRUE(query);
    EXPECT_EQ(*query, "1f4712db-ea17-4bcf-a596-105139dfd8bf.local");
    // Nothing to check yet: the name is unresolved and the agent is not blocked on it.
    EXPECT_TRUE(w.a().agent->stats().pairs.empty());
    w.a().agent->resolvedMdns(w.now(), *query, IpAddress::parse("192.0.2.2"));
    b.agent->startGathering(w.now());
    ASSERT_TRUE(w.runUntil([&] { return w.connected(); }, 5s));
    auto sel = w.a().agent->selectedPair();
    ASSERT_TRUE(sel);
    EXPECT_EQ(sel->remote.type, CandidateType::Host);
    EXPECT_EQ(sel->remote.address.toString(), "192.0.2.2:2000");
    // An unresolvable name is simply dropped.
    ASSERT_TRUE(
        w.a()
            .agent
            ->addRemoteCandidate(w.now(), "candidate:2 1 udp 2122260223 nobody.local 9 typ host")
            .ok());
    w.a().agent->resolvedMdns(w.now(), "nobody.local", std::nullopt);
    EXPECT_EQ(w.a().agent->stats().remoteCandidates.size(), 1u);
}
