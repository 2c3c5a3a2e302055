#include "core/ice/agent.hpp"

#include <algorithm>
#include <cassert>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/stun/message.hpp"
#include "core/stun/transaction.hpp"
#include "core/turn/turn_client.hpp"

namespace tincan::ice {

const char* toString(IceState s) {
    switch (s) {
        case IceState::New: return "new";
        case IceState::Checking: return "checking";
        case IceState::Connected: return "connected";
        case IceState::Completed: return "completed";
        case IceState::Disconnected: return "disconnected";
        case IceState::Failed: return "failed";
        case IceState::Closed: return "closed";
    }
    return "?";
}

const char* toString(GatheringState s) {
    switch (s) {
        case GatheringState::New: return "new";
        case GatheringState::Gathering: return "gathering";
        case GatheringState::Complete: return "complete";
    }
    return "?";
}

const char* toString(PathType p) {
    switch (p) {
        case PathType::Lan: return "lan";
        case PathType::Direct: return "direct";
        case PathType::Relay: return "relay";
    }
    return "?";
}

const char* toString(PairState s) {
    switch (s) {
        case PairState::Frozen: return "frozen";
        case PairState::Waiting: return "waiting";
        case PairState::InProgress: return "in-progress";
        case PairState::Succeeded: return "succeeded";
        case PairState::Failed: return "failed";
    }
    return "?";
}

namespace {

bool sameSubnet(const IpAddress& a, const IpAddress& b) {
    if (a.family() != b.family()) return false;
    auto x = a.bytes(), y = b.bytes();
    size_t n = a.isV4() ? 3 : 8;  // /24 or /64
    return std::equal(x.begin(), x.begin() + long(n), y.begin());
}

}  // namespace

// "lan" is host to host. `local` is the valid pair's local candidate: when our checks came back
// with a mapped address other than the base, a NAT sits in between and it is the
// server- or peer-reflexive candidate of that address, so the path is "direct".
// A peer-reflexive remote with a loopback, link-local or private address on our own subnet is a
// host hidden behind an mDNS name it could not resolve (browsers do that): "lan" too.
PathType classifyPath(const Candidate& local, const Candidate& remote) {
    if (local.type == CandidateType::Relayed || remote.type == CandidateType::Relayed)
        return PathType::Relay;
    if (local.type == CandidateType::Host && remote.type == CandidateType::Host)
        return PathType::Lan;
    if (local.type == CandidateType::Host && remote.type == CandidateType::PeerReflexive) {
        const IpAddress& r = remote.address.ip;
        if (r.isLoopback() || r.isLinkLocal() || (r.isPrivate() && sameSubnet(r, local.base.ip)))
            return PathType::Lan;
    }
    return PathType::Direct;
}

namespace {

constexpr size_t kMaxPairs = 100;       // RFC 8445 §6.1.2.5 checklist limit
constexpr size_t kMaxRemoteCandidates = 200;
constexpr size_t kMaxConsentInFlight = 8;

std::string foundationOf(CandidateType type, const IpAddress& baseIp, const std::string& server,
                         TransportProtocol relayProto) {
    // RFC 8445 §5.1.1.3: same type, base IP, server and transport → same foundation.
    size_t h = std::hash<std::string>{}(fmt::format("{}|{}|{}|{}", int(type), baseIp.toString(),
                                                    server, int(relayProto)));
    return std::to_string(uint32_t(h ^ (h >> 32)));
}

uint32_t relayLocalPreference(TransportProtocol p) {
    // UDP relays beat TCP, which beat TLS (the cheapest transport to the server wins).
    switch (p) {
        case TransportProtocol::Udp: return 65535;
        case TransportProtocol::Tcp: return 65534;
        case TransportProtocol::Tls: return 65533;
    }
    return 0;
}

}  // namespace

struct Agent::Impl {
    struct Check {
        stun::TransactionId tid{};
        Bytes request;
        stun::TransactionTimer timer;
        bool useCandidate = false;
        Timestamp firstSent{};
    };

    struct Pair {
        size_t local = 0;   // index into Session::locals
        size_t remote = 0;  // index into Session::remotes
        uint64_t priority = 0;
        std::string foundation;
        PairState state = PairState::Frozen;
        bool nominated = false;
        bool nominateOnSuccess = false;  // controlled: the peer sent USE-CANDIDATE
        bool useCandidate = false;       // controlling: the next check nominates
        std::optional<Endpoint> mapped;  // XOR-MAPPED-ADDRESS of the last successful check
        std::optional<Check> check;
        PairStats stats;
    };

    struct Session {
        Credentials local;
        std::optional<Credentials> remote;
        std::vector<Candidate> locals;   // includes unsignaled peer-reflexive ones
        std::vector<Candidate> remotes;  // includes learned peer-reflexive ones
        std::vector<Pair> pairs;
        std::deque<size_t> triggered;
        bool remoteEndOfCandidates = false;
        std::optional<Timestamp> checksStarted;
        std::optional<Timestamp> nominationDeadline;
        std::optional<Timestamp> nominationStarted;  // the first pair became valid
        std::optional<Timestamp> allFailedSince;
        uint32_t prflxCounter = 0;
    };

    struct GatherTx {
        stun::TransactionId tid{};
        Endpoint base;
        StunServerConfig server;
        Bytes request;
        stun::TransactionTimer timer;
        bool done = false;
    };

    struct TurnEntry {
        TurnServerConfig config;
        Endpoint base;  // UDP: the socket; TCP/TLS: {ip, 0}
        std::unique_ptr<turn::TurnClient> client;
        bool done = false;  // allocated or failed
    };

    struct Selected {
        Session* session = nullptr;
        size_t pair = 0;
    };

    struct ConsentTx {
        stun::TransactionId tid{};
        Timestamp sent{};
    };

    AgentConfig config;
    Random& random;
    Role role;
    uint64_t tieBreaker;
    IceState state = IceState::New;
    GatheringState gathering = GatheringState::New;
    std::string failure;

    std::vector<Endpoint> bases;
    bool started = false;
    std::vector<GatherTx> gatherTxs;
    std::vector<TurnEntry> turns;
    std::vector<std::string> turnFailures;

    std::unique_ptr<Session> current;
    std::unique_ptr<Session> previous;  // after a restart, until the new session selects a pair
    std::vector<Candidate> pendingMdns;

    std::optional<Selected> selected;
    std::optional<Timestamp> lastCheckSent;
    std::optional<Timestamp> consentNext;
    std::optional<Timestamp> lastConsent;
    std::deque<ConsentTx> consentTxs;

    std::deque<Packet> transmits;
    std::deque<Event> events;
    std::function<void(ByteView)> dataHandler;

    uint64_t malformed = 0, unauthorized = 0, unknownSource = 0, roleConflicts = 0;

    Impl(AgentConfig c, Random& r)
        : config(std::move(c)), random(r), role(config.role), tieBreaker(r.next64()) {
        current = newSession();
    }

    std::unique_ptr<Session> newSession() {
        auto s = std::make_unique<Session>();
        if (config.localCredentials && !current) {
            s->local = *config.localCredentials;
        } else {
            // RFC 8445 §5.3: at least 24 bits of randomness in ufrag, 128 in pwd.
            s->local = Credentials{random.iceChars(8), random.iceChars(24)};
        }
        return s;
    }

    // ---------------------------------------------------------------- state & events

    void setState(IceState s) {
        if (state == s || state == IceState::Closed) return;
        spdlog::debug("ice: state {} -> {}", toString(state), toString(s));
        state = s;
        events.emplace_back(event::StateChanged{s});
    }

    void fail(std::string reason) {
        if (state == IceState::Failed || state == IceState::Closed) return;
        failure = std::move(reason);
        spdlog::debug("ice: failed: {}", failure);
        setState(IceState::Failed);
        selected.reset();
        consentNext.reset();
    }

    void setGathering(GatheringState g) {
        if (gathering == g) return;
        gathering = g;
        events.emplace_back(event::GatheringStateChanged{g});
    }

    // ---------------------------------------------------------------- local candidates

    bool policyAllows(const Candidate& c) const {
        return config.policy == TransportPolicy::All || c.type == CandidateType::Relayed;
    }

    void addLocalCandidate(Timestamp now, Candidate c, bool signal) {
        Session& s = *current;
        for (const auto& l : s.locals) {
            if (l.address == c.address && l.base == c.base) {
                // A srflx equal to a host address (no NAT) is redundant (RFC 8445 §5.1.3).
                return;
            }
        }
        if (signal && !policyAllows(c)) return;
        s.locals.push_back(c);
        if (signal) events.emplace_back(event::LocalCandidate{c});
        size_t li = s.locals.size() - 1;
        for (size_t ri = 0; ri < s.remotes.size(); ++ri) addPair(now, s, li, ri);
        scheduleChecks(now);
    }

    Candidate hostCandidate(const Endpoint& base) const {
        Candidate c;
        c.type = CandidateType::Host;
        c.address = base;
        c.base = base;
        // RFC 8421-style local preference: IPv6 before IPv4, then interface order.
        size_t order = size_t(std::find(bases.begin(), bases.end(), base) - bases.begin());
        uint32_t pref = (base.ip.isV6() ? 65535u : 32767u) - uint32_t(std::min<size_t>(order, 255));
        c.priority = candidatePriority(CandidateType::Host, pref);
        c.foundation = foundationOf(CandidateType::Host, base.ip, "", TransportProtocol::Udp);
        return c;
    }

    void startBase(Timestamp now, const Endpoint& base) {
        if (config.policy == TransportPolicy::All) addLocalCandidate(now, hostCandidate(base), true);
        if (config.policy == TransportPolicy::All) {
            for (const auto& server : config.stunServers) {
                if (server.address.ip.family() != base.ip.family()) continue;
                startGatherTx(now, base, server);
            }
        }
        for (const auto& ts : config.turnServers) {
            if (ts.address.ip.family() != base.ip.family()) continue;
            Endpoint turnBase = base;
            if (ts.transport != TransportProtocol::Udp) {
                turnBase.port = 0;
                bool dup = false;
                for (const auto& t : turns)
                    if (t.base == turnBase && t.config.address == ts.address &&
                        t.config.transport == ts.transport)
                        dup = true;
                if (dup) continue;
            }
            turn::ServerConfig sc;
            sc.server = ts.address;
            sc.transport = ts.transport;
            sc.username = ts.username;
            sc.password = ts.password;
            sc.software = config.software;
            TurnEntry e{ts, turnBase, std::make_unique<turn::TurnClient>(sc, random), false};
            e.client->start(now);
            turns.push_back(std::move(e));
            drainTurn(now, turns.size() - 1);
        }
        updateGathering();
    }

    void startGatherTx(Timestamp now, const Endpoint& base, const StunServerConfig& server) {
        auto msg = stun::Message::request(stun::Method::Binding, random);
        msg.addString(stun::attr::Software, config.software);
        stun::RetransmitPolicy pol;
        pol.rto = config.gatherRto;
        pol.rc = config.gatherRetries;
        pol.rm = 4;
        GatherTx tx{msg.transactionId(), base, server, msg.encode(nullptr, true),
                    stun::TransactionTimer(pol, now), false};
        gatherTxs.push_back(std::move(tx));
        serviceGatherTx(now, gatherTxs.back());
    }

    void serviceGatherTx(Timestamp now, GatherTx& tx) {
        if (tx.done) return;
        switch (tx.timer.poll(now)) {
            case stun::TransactionTimer::Action::Send:
                transmits.push_back(Packet{TransportProtocol::Udp, tx.base, tx.server.address, tx.request});
                break;
            case stun::TransactionTimer::Action::TimedOut:
                tx.done = true;
                spdlog::debug("ice: no answer from STUN server {}", tx.server.url);
                updateGathering();
                break;
            case stun::TransactionTimer::Action::None: break;
        }
    }

    void onGatherResponse(Timestamp now, GatherTx& tx, const stun::Message& msg) {
        tx.done = true;
        auto mapped = msg.getXorAddress(stun::attr::XorMappedAddress);
        if (!mapped) mapped = msg.getAddress(stun::attr::MappedAddress);
        if (msg.isSuccess() && mapped) addServerReflexive(now, tx.base, *mapped, tx.server.url);
        updateGathering();
    }

    void addServerReflexive(Timestamp now, const Endpoint& base, const Endpoint& mapped,
                            const std::string& url) {
        if (config.policy != TransportPolicy::All) return;
        Candidate c;
        c.type = CandidateType::ServerReflexive;
        c.address = mapped;
        c.base = base;
        c.related = base;
        c.url = url;
        uint32_t pref = base.ip.isV6() ? 65535u : 32767u;
        c.priority = candidatePriority(CandidateType::ServerReflexive, pref);
        c.foundation = foundationOf(CandidateType::ServerReflexive, base.ip, "stun", TransportProtocol::Udp);
        for (const auto& l : current->locals)
            if (l.address == mapped) return;  // not behind a NAT: same as a host candidate
        addLocalCandidate(now, c, true);
    }

    void updateGathering() {
        if (!started) return;
        bool busy = std::any_of(gatherTxs.begin(), gatherTxs.end(), [](auto& t) { return !t.done; }) ||
                    std::any_of(turns.begin(), turns.end(), [](auto& t) { return !t.done; });
        setGathering(busy ? GatheringState::Gathering : GatheringState::Complete);
    }

    // ---------------------------------------------------------------- TURN

    // Only the bytes for the server: safe from any call path (no events are handled).
    void flushTurn(size_t index) {
        auto& e = turns[index];
        while (auto out = e.client->pollOutgoing())
            transmits.push_back(Packet{e.config.transport, e.base, e.config.address, std::move(*out)});
    }

    // Bytes and events; only called where TURN input arrives (packets, timeouts, streams).
    void drainTurn(Timestamp now, size_t index) {
        while (true) {
            auto& e = turns[index];
            if (auto out = e.client->pollOutgoing()) {
                transmits.push_back(Packet{e.config.transport, e.base, e.config.address, std::move(*out)});
                continue;
            }
            auto ev = e.client->pollEvent();
            if (!ev) break;
            if (auto* a = std::get_if<turn::event::Allocated>(&*ev)) {
                e.done = true;
                spdlog::debug("ice: TURN allocation on {} ({}) -> relayed {}", e.config.url,
                             tincan::toString(e.config.transport), a->relayed.toString());
                Candidate c;
                c.type = CandidateType::Relayed;
                c.address = a->relayed;
                c.base = a->relayed;
                c.related = a->mapped;
                c.relayProtocol = e.config.transport;
                c.url = e.config.url;
                c.priority = candidatePriority(CandidateType::Relayed, relayLocalPreference(e.config.transport));
                c.foundation = foundationOf(CandidateType::Relayed, e.base.ip, e.config.address.toString(),
                                            e.config.transport);
                Endpoint base = e.base;
                std::string url = e.config.url;
                bool udp = e.config.transport == TransportProtocol::Udp;
                Endpoint mapped = a->mapped;
                addLocalCandidate(now, c, true);
                // The allocation's XOR-MAPPED-ADDRESS is a server-reflexive candidate for free.
                if (udp) addServerReflexive(now, base, mapped, url);
                updateGathering();
            } else if (auto* f = std::get_if<turn::event::Failed>(&*ev)) {
                bool wasAllocated = e.client->relayedAddress().has_value() && e.done;
                e.done = true;
                std::string why = fmt::format("TURN {} over {}: {}", e.config.url,
                                              tincan::toString(e.config.transport), f->reason);
                spdlog::warn("ice: {}", why);
                turnFailures.push_back(why);
                if (wasAllocated) removeRelayCandidates(index);
                updateGathering();
            } else if (auto* d = std::get_if<turn::event::PeerData>(&*ev)) {
                auto relayed = e.client->relayedAddress();
                if (relayed) {
                    Bytes data = std::move(d->data);
                    Endpoint peer = d->peer;
                    onDatagram(now, *relayed, true, peer, data);
                }
            } else {
                e.done = true;
            }
        }
    }

    void removeRelayCandidates(size_t turnIndex) {
        auto relayed = turns[turnIndex].client->relayedAddress();
        if (!relayed) return;
        for (Session* s : {current.get(), previous.get()}) {
            if (!s) continue;
            for (auto& p : s->pairs) {
                if (s->locals[p.local].type == CandidateType::Relayed &&
                    s->locals[p.local].address == *relayed)
                    p.state = PairState::Failed, p.check.reset();
            }
        }
        if (selected) {
            const auto& p = selected->session->pairs[selected->pair];
            if (p.state == PairState::Failed) selected.reset();
        }
    }

    turn::TurnClient* turnFor(const Candidate& relayLocal) {
        for (auto& t : turns)
            if (t.client->relayedAddress() && *t.client->relayedAddress() == relayLocal.address)
                return t.client.get();
        return nullptr;
    }

    std::optional<size_t> turnIndexFor(const Candidate& relayLocal) {
        for (size_t i = 0; i < turns.size(); ++i)
            if (turns[i].client->relayedAddress() && *turns[i].client->relayedAddress() == relayLocal.address)
                return i;
        return std::nullopt;
    }

    // ---------------------------------------------------------------- sending

    void sendFrom(Timestamp now, const Candidate& local, const Endpoint& remote, Bytes data) {
        if (local.type == CandidateType::Relayed) {
            auto idx = turnIndexFor(local);
            if (!idx) return;
            turns[*idx].client->sendTo(now, remote, data);
            flushTurn(*idx);
        } else {
            transmits.push_back(Packet{TransportProtocol::Udp, local.base, remote, std::move(data)});
        }
    }

    // ---------------------------------------------------------------- pairs

    bool canPair(const Candidate& l, const Candidate& r) const {
        if (l.type != CandidateType::Host && l.type != CandidateType::Relayed) return false;
        if (!policyAllows(l)) return false;
        if (r.transport != TransportProtocol::Udp || r.isMdns()) return false;
        if (r.address.port == 0 || r.address.ip.isUnspecified()) return false;
        if (l.address.ip.family() != r.address.ip.family()) return false;
        // A link-local base can only reach link-local peers and vice versa.
        if (l.address.ip.isLinkLocal() != r.address.ip.isLinkLocal() && l.type == CandidateType::Host)
            return false;
        return true;
    }

    uint64_t computePairPriority(const Candidate& l, const Candidate& r) const {
        return role == Role::Controlling ? pairPriority(l.priority, r.priority)
                                         : pairPriority(r.priority, l.priority);
    }

    std::optional<size_t> findPair(const Session& s, size_t li, size_t ri) const {
        for (size_t i = 0; i < s.pairs.size(); ++i)
            if (s.pairs[i].local == li && s.pairs[i].remote == ri) return i;
        return std::nullopt;
    }

    std::optional<size_t> addPair(Timestamp now, Session& s, size_t li, size_t ri) {
        const Candidate& l = s.locals[li];
        const Candidate& r = s.remotes[ri];
        if (!canPair(l, r)) return std::nullopt;
        if (auto existing = findPair(s, li, ri)) return existing;
        // Pruning (RFC 8445 §6.1.2.4): pairs are formed from bases only, so a pair with the
        // same local base and remote address already covers this one.
        for (size_t i = 0; i < s.pairs.size(); ++i) {
            const auto& p = s.pairs[i];
            if (s.locals[p.local].base == l.base && s.locals[p.local].type == l.type &&
                s.remotes[p.remote].address == r.address)
                return i;
        }
        if (s.pairs.size() >= kMaxPairs) return std::nullopt;  // indices stay stable
        Pair p;
        p.local = li;
        p.remote = ri;
        p.priority = computePairPriority(l, r);
        p.foundation = l.foundation + ":" + r.foundation;
        p.stats.local = l;
        p.stats.remote = r;
        p.stats.priority = p.priority;
        s.pairs.push_back(std::move(p));
        size_t index = s.pairs.size() - 1;
        if (l.type == CandidateType::Relayed) {
            // Install the permission now so the peer's first check through the relay gets in.
            if (auto idx = turnIndexFor(l)) {
                turns[*idx].client->createPermission(now, r.address.ip);
                flushTurn(*idx);
            }
        }
        unfreeze(s);
        s.allFailedSince.reset();
        return index;
    }

    // RFC 8445 §6.1.2.6 / RFC 8838 §11: in each foundation with nothing under way, the
    // highest-priority frozen pair becomes Waiting.
    void unfreeze(Session& s) {
        for (size_t i = 0; i < s.pairs.size(); ++i) {
            if (s.pairs[i].state != PairState::Frozen) continue;
            const std::string& f = s.pairs[i].foundation;
            bool active = false;
            size_t best = i;
            for (size_t j = 0; j < s.pairs.size(); ++j) {
                if (s.pairs[j].foundation != f) continue;
                auto st = s.pairs[j].state;
                if (st == PairState::Waiting || st == PairState::InProgress) active = true;
                if (st == PairState::Frozen && s.pairs[j].priority > s.pairs[best].priority) best = j;
            }
            if (!active) s.pairs[best].state = PairState::Waiting;
        }
    }

    void unfreezeFoundation(Session& s, const std::string& foundation) {
        for (auto& p : s.pairs)
            if (p.state == PairState::Frozen && p.foundation == foundation) p.state = PairState::Waiting;
    }

    void recomputePriorities() {
        for (Session* s : {current.get(), previous.get()}) {
            if (!s) continue;
            for (auto& p : s->pairs) {
                p.priority = computePairPriority(s->locals[p.local], s->remotes[p.remote]);
                p.stats.priority = p.priority;
            }
        }
    }

    // ---------------------------------------------------------------- checks

    Bytes buildCheck(Session& s, Pair& p, stun::TransactionId& tidOut, bool useCandidate) {
        const Candidate& l = s.locals[p.local];
        auto msg = stun::Message::request(stun::Method::Binding, random);
        tidOut = msg.transactionId();
        msg.addString(stun::attr::Username, s.remote->ufrag + ":" + s.local.ufrag);
        // RFC 8445 §7.1.1: the priority a peer-reflexive candidate learned from this check gets.
        uint32_t localPref = (l.priority >> 8) & 0xFFFF;
        msg.addU32(stun::attr::Priority, candidatePriority(CandidateType::PeerReflexive, localPref));
        if (role == Role::Controlling) {
            msg.addU64(stun::attr::IceControlling, tieBreaker);
            if (useCandidate) msg.addFlag(stun::attr::UseCandidate);
        } else {
            msg.addU64(stun::attr::IceControlled, tieBreaker);
        }
        stun::Integrity integrity{stun::shortTermKey(s.remote->pwd), false};
        return msg.encode(&integrity, true);
    }

    stun::RetransmitPolicy checkPolicy() const {
        stun::RetransmitPolicy pol;
        pol.rto = config.checkRto;
        pol.maxInterval = config.checkMaxInterval;
        pol.rc = config.checkRetries;
        pol.rm = int(std::max<int64_t>(1, config.checkFinalWait / config.checkRto));
        return pol;
    }

    void startCheck(Timestamp now, Session& s, size_t pi) {
        Pair& p = s.pairs[pi];
        bool nominate = p.useCandidate || (config.aggressiveNomination && role == Role::Controlling);
        Check c{{}, {}, stun::TransactionTimer(checkPolicy(), now), nominate, now};
        c.request = buildCheck(s, p, c.tid, nominate);
        p.check = std::move(c);
        // A pair that already works stays Succeeded while it is re-checked (nomination).
        if (p.state != PairState::Succeeded) p.state = PairState::InProgress;
        if (!s.checksStarted) s.checksStarted = now;
        serviceCheck(now, s, pi);
    }

    void serviceCheck(Timestamp now, Session& s, size_t pi) {
        Pair& p = s.pairs[pi];
        if (!p.check) return;
        switch (p.check->timer.poll(now)) {
            case stun::TransactionTimer::Action::Send: {
                p.stats.requestsSent++;
                p.stats.lastPacketSent = now;
                Bytes req = p.check->request;
                Candidate l = s.locals[p.local];
                Endpoint r = s.remotes[p.remote].address;
                sendFrom(now, l, r, std::move(req));
                break;
            }
            case stun::TransactionTimer::Action::TimedOut:
                spdlog::debug("ice: check {} -> {} timed out", s.locals[p.local].address.toString(),
                              s.remotes[p.remote].address.toString());
                p.check.reset();
                if (p.state == PairState::Succeeded) {
                    // A lost nomination on a working pair: consent decides its fate, not this.
                    p.useCandidate = false;
                    updateSelection(now);
                } else {
                    pairFailed(now, s, pi);
                }
                break;
            case stun::TransactionTimer::Action::None: break;
        }
    }

    void pairFailed(Timestamp now, Session& s, size_t pi) {
        Pair& p = s.pairs[pi];
        p.state = PairState::Failed;
        p.useCandidate = false;
        p.check.reset();
        if (selected && selected->session == &s && selected->pair == pi) {
            // The pair we were using stopped working: fall back to another valid one.
            selected.reset();
        }
        unfreeze(s);
        updateSelection(now);
        evaluateFailure(now);
    }

    // One ordinary or triggered check per Ta (RFC 8445 §6.1.4.2).
    void scheduleChecks(Timestamp now) {
        Session& s = *current;
        if (!s.remote || state == IceState::Closed || state == IceState::Failed) return;
        if (lastCheckSent && now < *lastCheckSent + config.ta) return;
        std::optional<size_t> next;
        while (!s.triggered.empty() && !next) {
            size_t pi = s.triggered.front();
            s.triggered.pop_front();
            auto st = s.pairs[pi].state;
            if (st != PairState::InProgress && !(st == PairState::Succeeded && !s.pairs[pi].useCandidate))
                next = pi;
        }
        if (!next) next = bestInState(s, PairState::Waiting);
        if (!next) {
            next = bestInState(s, PairState::Frozen);
        }
        if (!next) return;
        lastCheckSent = now;
        startCheck(now, s, *next);
    }

    std::optional<size_t> bestInState(const Session& s, PairState st) const {
        std::optional<size_t> best;
        for (size_t i = 0; i < s.pairs.size(); ++i)
            if (s.pairs[i].state == st && (!best || s.pairs[i].priority > s.pairs[*best].priority))
                best = i;
        return best;
    }

    bool hasPendingChecks(const Session& s) const {
        if (!s.remote) return false;
        if (!s.triggered.empty()) return true;
        return std::any_of(s.pairs.begin(), s.pairs.end(), [](const Pair& p) {
            return p.state == PairState::Waiting || p.state == PairState::Frozen;
        });
    }

    void onCheckResponse(Timestamp now, Session& s, size_t pi, const stun::Message& msg,
                         const Endpoint& local, bool viaRelay, const Endpoint& from) {
        Pair& p = s.pairs[pi];
        if (!s.remote || msg.verifyIntegrity(stun::shortTermKey(s.remote->pwd)) != stun::IntegrityCheck::Ok) {
            unauthorized++;
            return;  // not from our peer: keep waiting for the real answer
        }
        const Candidate& l = s.locals[p.local];
        // RFC 8445 §7.2.5.2.1: the response must come back on the same addresses.
        bool symmetric = from == s.remotes[p.remote].address &&
                         (viaRelay ? l.type == CandidateType::Relayed && local == l.address
                                   : l.type != CandidateType::Relayed && local == l.base);
        Check check = std::move(*p.check);
        p.check.reset();
        p.stats.responsesReceived++;
        p.stats.lastPacketReceived = now;
        if (!symmetric) {
            pairFailed(now, s, pi);
            return;
        }
        if (msg.isError()) {
            auto err = msg.getErrorCode();
            if (err && err->code == stun::error::RoleConflict) {
                // RFC 8445 §7.2.5.1: switch roles and retry.
                roleConflicts++;
                switchRole(role == Role::Controlling ? Role::Controlled : Role::Controlling);
                p.state = PairState::Waiting;
                s.triggered.push_back(pi);
                scheduleChecks(now);
                return;
            }
            pairFailed(now, s, pi);
            return;
        }
        if (check.timer.sends() == 1) {
            Duration rtt = now - check.firstSent;
            p.stats.currentRtt = rtt;
            p.stats.totalRtt += rtt;
            p.stats.rttSamples++;
        }
        if (auto mapped = msg.getXorAddress(stun::attr::XorMappedAddress)) {
            learnLocalPrflx(s, p, *mapped);
            p.mapped = mapped;
        }
        bool wasSucceeded = p.state == PairState::Succeeded;
        p.state = PairState::Succeeded;
        if (check.useCandidate || (role == Role::Controlled && p.nominateOnSuccess)) p.nominated = true;
        if (!wasSucceeded) unfreezeFoundation(s, p.foundation);
        if (selected && selected->session == &s && selected->pair == pi) consentOk(now);
        updateSelection(now);
        scheduleChecks(now);
    }

    void learnLocalPrflx(Session& s, const Pair& p, const Endpoint& mapped) {
        const Candidate& l = s.locals[p.local];
        if (l.type == CandidateType::Relayed) return;
        for (const auto& c : s.locals)
            if (c.address == mapped) return;
        // RFC 8445 §7.2.5.3.1: a new peer-reflexive local candidate; it is never signaled.
        Candidate c;
        c.type = CandidateType::PeerReflexive;
        c.address = mapped;
        c.base = l.base;
        c.related = l.base;
        c.priority = candidatePriority(CandidateType::PeerReflexive, (l.priority >> 8) & 0xFFFF);
        c.foundation = foundationOf(CandidateType::PeerReflexive, l.base.ip, "", TransportProtocol::Udp);
        s.locals.push_back(c);
    }

    void switchRole(Role r) {
        if (role == r) return;
        role = r;
        spdlog::debug("ice: role conflict, now {}", r == Role::Controlling ? "controlling" : "controlled");
        recomputePriorities();
        events.emplace_back(event::RoleChanged{r});
    }

    // ---------------------------------------------------------------- incoming requests

    void respond(Timestamp now, const Candidate& local, const Endpoint& to, const stun::Message& resp,
                 const Bytes* key) {
        stun::Integrity integrity{key ? *key : Bytes{}, false};
        sendFrom(now, local, to, resp.encode(key ? &integrity : nullptr, true));
    }

    void onRequest(Timestamp now, const stun::Message& req, const Endpoint& localAddr, bool viaRelay,
                   const Endpoint& from) {
        if (req.method() != stun::Method::Binding) return;
        // Which local candidate received it: the relay candidate, or the host base.
        Session* sessions[2] = {current.get(), previous.get()};
        auto username = req.getString(stun::attr::Username);
        Session* s = nullptr;
        if (username) {
            auto colon = username->find(':');
            std::string mine = colon == std::string::npos ? *username : username->substr(0, colon);
            for (Session* cand : sessions)
                if (cand && cand->local.ufrag == mine) s = cand;
        }
        std::optional<size_t> li;
        if (s) {
            for (size_t i = 0; i < s->locals.size(); ++i) {
                const Candidate& c = s->locals[i];
                if (viaRelay ? (c.type == CandidateType::Relayed && c.address == localAddr)
                             : (c.type == CandidateType::Host && c.base == localAddr)) {
                    li = i;
                    break;
                }
            }
        }
        if (!li) {
            if (config.policy == TransportPolicy::Relay && !viaRelay) return;  // hosts stay hidden
            if (!s && !viaRelay) {
                // RFC 8445 §7.3: a USERNAME we don't know gets a 401.
                unauthorized++;
                auto resp = stun::Message::errorResponse(req, stun::error::Unauthenticated, "Unauthenticated");
                transmits.push_back(Packet{TransportProtocol::Udp, localAddr, from, resp.encode(nullptr, true)});
            }
            return;
        }
        Bytes key = stun::shortTermKey(s->local.pwd);
        const Candidate local = s->locals[*li];
        if (req.verifyIntegrity(key) != stun::IntegrityCheck::Ok) {
            unauthorized++;
            respond(now, local, from, stun::Message::errorResponse(req, stun::error::Unauthenticated, "Unauthenticated"), nullptr);
            return;
        }
        if (auto unknown = req.unknownComprehensionRequired(); !unknown.empty()) {
            auto resp = stun::Message::errorResponse(req, stun::error::UnknownAttribute, "Unknown Attribute");
            resp.addUnknownAttributes(unknown);
            respond(now, local, from, resp, &key);
            return;
        }
        auto priority = req.getU32(stun::attr::Priority);
        if (!priority) {
            respond(now, local, from, stun::Message::errorResponse(req, stun::error::BadRequest, "PRIORITY missing"), &key);
            return;
        }
        // RFC 8445 §7.3.1.1 role conflicts.
        if (auto theirs = req.getU64(stun::attr::IceControlling); theirs && role == Role::Controlling) {
            roleConflicts++;
            if (tieBreaker >= *theirs) {
                respond(now, local, from, stun::Message::errorResponse(req, stun::error::RoleConflict, "Role Conflict"), &key);
                return;
            }
            switchRole(Role::Controlled);
        } else if (auto theirs2 = req.getU64(stun::attr::IceControlled); theirs2 && role == Role::Controlled) {
            roleConflicts++;
            if (tieBreaker >= *theirs2) {
                switchRole(Role::Controlling);
            } else {
                respond(now, local, from, stun::Message::errorResponse(req, stun::error::RoleConflict, "Role Conflict"), &key);
                return;
            }
        }
        auto resp = stun::Message::successResponse(req);
        resp.addXorAddress(stun::attr::XorMappedAddress, from);
        respond(now, local, from, resp, &key);

        if (s != current.get()) {
            // A check for the pre-restart session keeps its pair alive but creates nothing new.
            return;
        }
        Session& cur = *current;
        // Find the remote candidate, or learn a peer-reflexive one (RFC 8445 §7.3.1.3).
        std::optional<size_t> ri;
        for (size_t i = 0; i < cur.remotes.size(); ++i)
            if (cur.remotes[i].address == from && cur.remotes[i].transport == TransportProtocol::Udp) ri = i;
        if (!ri) {
            if (cur.remotes.size() >= kMaxRemoteCandidates) return;
            Candidate c;
            c.type = CandidateType::PeerReflexive;
            c.address = from;
            c.priority = *priority;
            c.foundation = "prflx" + std::to_string(++cur.prflxCounter);
            cur.remotes.push_back(c);
            ri = cur.remotes.size() - 1;
            spdlog::debug("ice: learned peer-reflexive remote {}", from.toString());
        }
        auto pi = addPair(now, cur, *li, *ri);
        if (!pi) return;
        Pair& p = cur.pairs[*pi];
        p.stats.requestsReceived++;
        p.stats.responsesSent++;
        p.stats.lastPacketReceived = now;
        bool useCandidate = req.has(stun::attr::UseCandidate) && role == Role::Controlled;
        if (p.state == PairState::Succeeded) {
            if (useCandidate && !p.nominated) {
                p.nominated = true;
                updateSelection(now);
            }
            return;
        }
        if (useCandidate) p.nominateOnSuccess = true;
        if (p.state == PairState::InProgress && p.check) {
            // RFC 8445 §7.3.1.4: the peer's check got through, so ours may now too (its first
            // one was likely dropped by a NAT that had not opened yet). Resend at once rather
            // than wait for the retransmission timer; same transaction, so no answer is lost.
            p.stats.requestsSent++;
            p.stats.lastPacketSent = now;
            Bytes again = p.check->request;
            Candidate l = cur.locals[p.local];
            sendFrom(now, l, cur.remotes[p.remote].address, std::move(again));
            return;
        }
        // RFC 8445 §7.3.1.4: triggered check.
        if (p.state != PairState::InProgress) {
            p.state = PairState::Waiting;
            if (std::find(cur.triggered.begin(), cur.triggered.end(), *pi) == cur.triggered.end())
                cur.triggered.push_back(*pi);
            // A triggered check answers a peer that is already waiting: don't pace it behind
            // ordinary checks.
            if (lastCheckSent && now < *lastCheckSent + config.ta && cur.remote) {
                cur.triggered.erase(std::find(cur.triggered.begin(), cur.triggered.end(), *pi));
                startCheck(now, cur, *pi);
            } else {
                scheduleChecks(now);
            }
        }
    }

    // ---------------------------------------------------------------- selection & nomination

    void updateSelection(Timestamp now) {
        if (state == IceState::Closed || state == IceState::Failed) return;
        Session& s = *current;
        std::optional<size_t> bestNominated, bestValid;
        for (size_t i = 0; i < s.pairs.size(); ++i) {
            const Pair& p = s.pairs[i];
            if (p.state != PairState::Succeeded) continue;
            if (p.nominated && (!bestNominated || p.priority > s.pairs[*bestNominated].priority)) bestNominated = i;
            if (!bestValid || p.priority > s.pairs[*bestValid].priority) bestValid = i;
        }
        if (role == Role::Controlling && !bestNominated && bestValid) maybeNominate(now, s, *bestValid);

        std::optional<size_t> choice = bestNominated ? bestNominated : bestValid;
        if (choice) {
            bool changed = !selected || selected->session != &s || selected->pair != *choice;
            if (changed) {
                selected = Selected{&s, *choice};
                if (previous) {
                    // The restarted session carries data now; the old one is done.
                    previous.reset();
                }
                lastConsent = now;
                consentNext = now + jitteredConsentInterval();
                auto info = pairInfo(s, s.pairs[*choice]);
                spdlog::debug("ice: selected pair {} {} -> {} {} ({})", toString(info.local.type),
                             info.local.address.toString(), toString(info.remote.type),
                             info.remote.address.toString(), toString(info.path));
                events.emplace_back(event::SelectedPairChanged{info});
            }
        } else if (!selected && previous) {
            // still on the pre-restart pair
        }
        if (selected) {
            if (state != IceState::Disconnected) setState(isCompleted() ? IceState::Completed : IceState::Connected);
        } else if (s.remote && !s.pairs.empty() && state == IceState::New) {
            setState(IceState::Checking);
        } else if (!selected && (state == IceState::Connected || state == IceState::Completed)) {
            setState(IceState::Checking);
        }
    }

    bool isCompleted() const {
        if (!selected || !current || selected->session != current.get()) return false;
        const Session& s = *current;
        if (!s.pairs[selected->pair].nominated) return false;
        if (!s.remoteEndOfCandidates || gathering != GatheringState::Complete) return false;
        return std::none_of(s.pairs.begin(), s.pairs.end(), [](const Pair& p) {
            return p.state == PairState::Waiting || p.state == PairState::InProgress ||
                   p.state == PairState::Frozen;
        });
    }

    void maybeNominate(Timestamp now, Session& s, size_t best) {
        // Already nominating?
        for (const auto& p : s.pairs)
            if (p.useCandidate && (p.check || p.state == PairState::InProgress || p.state == PairState::Waiting))
                return;
        uint64_t prio = s.pairs[best].priority;
        bool betterPending = std::any_of(s.pairs.begin(), s.pairs.end(), [&](const Pair& p) {
            return p.priority > prio && p.state != PairState::Failed && p.state != PairState::Succeeded;
        });
        if (betterPending) {
            // A relay is the last resort: give direct pairs still being retried (loss, long
            // round trips) more time. Data flows on the best valid pair meanwhile.
            bool relay = s.locals[s.pairs[best].local].type == CandidateType::Relayed ||
                         s.remotes[s.pairs[best].remote].type == CandidateType::Relayed;
            Duration wait = relay ? config.relayNominationDelay : config.nominationDelay;
            if (!s.nominationStarted) s.nominationStarted = now;
            s.nominationDeadline = *s.nominationStarted + wait;
            if (now < *s.nominationDeadline) return;
        }
        nominate(now, s, best);
    }

    void nominate(Timestamp now, Session& s, size_t pi) {
        Pair& p = s.pairs[pi];
        spdlog::debug("ice: nominating {} -> {}", s.locals[p.local].address.toString(),
                      s.remotes[p.remote].address.toString());
        p.useCandidate = true;
        s.nominationDeadline.reset();
        startCheck(now, s, pi);  // not paced: the pair is known to work
    }

    // RFC 8445 §7.2.5.3.2: the valid pair's local candidate is the one whose address the peer
    // saw (a srflx or learned prflx behind a NAT), not necessarily the base we sent from.
    const Candidate& effectiveLocal(const Session& s, const Pair& p) const {
        const Candidate& l = s.locals[p.local];
        if (l.type != CandidateType::Host || !p.mapped || *p.mapped == l.base) return l;
        const Candidate* best = &l;
        for (const auto& c : s.locals) {
            if (c.address != *p.mapped || c.base != l.base) continue;
            // Prefer the signaled srflx over an equal learned prflx.
            if (best == &l || c.type == CandidateType::ServerReflexive) best = &c;
        }
        return *best;
    }

    CandidatePairInfo pairInfo(const Session& s, const Pair& p) const {
        CandidatePairInfo info;
        info.local = effectiveLocal(s, p);
        info.remote = s.remotes[p.remote];
        info.path = classifyPath(info.local, info.remote);
        if (info.path == PathType::Relay)
            info.relayProtocol = info.local.relayProtocol.value_or(TransportProtocol::Udp);
        info.rtt = p.stats.currentRtt.value_or(Duration{});
        return info;
    }

    // ---------------------------------------------------------------- consent (RFC 7675)

    Duration jitteredConsentInterval() {
        Duration base = state == IceState::Disconnected ? std::min<Duration>(1s, config.consentInterval)
                                                        : config.consentInterval;
        return random.between(base * 4 / 5, base * 6 / 5);
    }

    void sendConsent(Timestamp now) {
        Session& s = *selected->session;
        Pair& p = s.pairs[selected->pair];
        if (!s.remote) return;
        stun::TransactionId tid;
        Bytes req = buildCheck(s, p, tid, false);
        consentTxs.push_back(ConsentTx{tid, now});
        while (consentTxs.size() > kMaxConsentInFlight) consentTxs.pop_front();
        p.stats.consentRequestsSent++;
        p.stats.requestsSent++;
        p.stats.lastPacketSent = now;
        Candidate l = s.locals[p.local];
        sendFrom(now, l, s.remotes[p.remote].address, std::move(req));
    }

    void consentOk(Timestamp now) {
        lastConsent = now;
        if (state == IceState::Disconnected) {
            setState(isCompleted() ? IceState::Completed : IceState::Connected);
        }
    }

    void serviceConsent(Timestamp now) {
        if (!selected || !consentNext || now < *consentNext) return;
        if (lastConsent && now - *lastConsent >= config.consentTimeout) {
            fail(fmt::format("consent lost: no answer from the peer for {} s",
                             std::chrono::duration_cast<std::chrono::seconds>(config.consentTimeout).count()));
            return;
        }
        if (lastConsent && now - *lastConsent >= config.disconnectedTimeout) setState(IceState::Disconnected);
        sendConsent(now);
        consentNext = now + jitteredConsentInterval();
        if (lastConsent) {
            // Wake up exactly when the state must change.
            for (Duration limit : {config.disconnectedTimeout, config.consentTimeout}) {
                Timestamp at = *lastConsent + limit;
                if (at > now && at < *consentNext) consentNext = at;
            }
        }
    }

    bool onConsentResponse(Timestamp now, const stun::Message& msg) {
        auto it = std::find_if(consentTxs.begin(), consentTxs.end(),
                               [&](const ConsentTx& t) { return t.tid == msg.transactionId(); });
        if (it == consentTxs.end()) return false;
        Timestamp sent = it->sent;
        consentTxs.erase(it);
        if (!selected) return true;
        Session& s = *selected->session;
        Pair& p = s.pairs[selected->pair];
        if (!s.remote || msg.verifyIntegrity(stun::shortTermKey(s.remote->pwd)) != stun::IntegrityCheck::Ok) {
            unauthorized++;
            return true;
        }
        p.stats.responsesReceived++;
        p.stats.lastPacketReceived = now;
        if (msg.isSuccess()) {
            p.stats.currentRtt = now - sent;
            p.stats.totalRtt += now - sent;
            p.stats.rttSamples++;
            consentOk(now);
        } else if (auto err = msg.getErrorCode(); err && err->code != stun::error::RoleConflict) {
            // RFC 7675 §5.1: an error revokes consent at once.
            fail(fmt::format("consent revoked by the peer ({} {})", err->code, err->reason));
        }
        return true;
    }

    // ---------------------------------------------------------------- failure

    void evaluateFailure(Timestamp now) {
        if (state == IceState::Failed || state == IceState::Closed || selected) return;
        Session& s = *current;
        if (!s.remote) return;
        bool allFailed = !s.pairs.empty() &&
                         std::all_of(s.pairs.begin(), s.pairs.end(),
                                     [](const Pair& p) { return p.state == PairState::Failed; });
        bool noLocal = gathering == GatheringState::Complete &&
                       std::none_of(s.locals.begin(), s.locals.end(),
                                    [&](const Candidate& c) { return policyAllows(c) && c.type != CandidateType::PeerReflexive; });
        if (noLocal) {
            std::string why = config.policy == TransportPolicy::Relay ? "no relayed candidate" : "no local candidate";
            if (!turnFailures.empty()) why += " (" + turnFailures.back() + ")";
            fail(why);
            return;
        }
        if (allFailed && gathering == GatheringState::Complete) {
            if (!s.allFailedSince) s.allFailedSince = now;
            if (s.remoteEndOfCandidates || now >= *s.allFailedSince + config.failedGrace) {
                fail(fmt::format("no candidate pair succeeded ({} pairs tried)", s.pairs.size()));
                return;
            }
        } else {
            s.allFailedSince.reset();
        }
        if (s.checksStarted && now >= *s.checksStarted + config.checkingTimeout) {
            fail(fmt::format("no candidate pair succeeded after {} s",
                             std::chrono::duration_cast<std::chrono::seconds>(config.checkingTimeout).count()));
        }
    }

    // ---------------------------------------------------------------- packet dispatch

    void onDatagram(Timestamp now, const Endpoint& local, bool viaRelay, const Endpoint& from, ByteView data) {
        if (data.empty()) return;
        if (stun::looksLikeStun(data)) {
            auto parsed = stun::parse(data);
            if (auto* err = std::get_if<stun::ParseError>(&parsed)) {
                malformed++;
                spdlog::debug("ice: dropped malformed STUN from {}: {}", from.toString(), err->reason);
                return;
            }
            auto& msg = std::get<stun::Message>(parsed);
            if (msg.isResponse()) {
                onResponse(now, msg, local, viaRelay, from);
            } else if (msg.isRequest()) {
                onRequest(now, msg, local, viaRelay, from);
            }
            // Indications (Binding keepalives) need no answer.
            return;
        }
        // Application data (DTLS, SRTP): accept it from any address the peer is known at.
        Pair* pair = findPairForData(local, viaRelay, from);
        if (!pair) {
            unknownSource++;
            return;
        }
        pair->stats.packetsReceived++;
        pair->stats.bytesReceived += data.size();
        pair->stats.lastPacketReceived = now;
        if (dataHandler)
            dataHandler(data);
        else
            events.emplace_back(event::Data{Bytes(data.begin(), data.end())});
    }

    Pair* findPairForData(const Endpoint& local, bool viaRelay, const Endpoint& from) {
        if (selected) {
            Session& s = *selected->session;
            Pair& p = s.pairs[selected->pair];
            const Candidate& l = s.locals[p.local];
            if (s.remotes[p.remote].address == from &&
                (viaRelay ? l.address == local : l.base == local && l.type != CandidateType::Relayed))
                return &p;
        }
        for (Session* s : {current.get(), previous.get()}) {
            if (!s) continue;
            for (auto& p : s->pairs) {
                const Candidate& l = s->locals[p.local];
                if (s->remotes[p.remote].address != from) continue;
                if (viaRelay ? (l.type == CandidateType::Relayed && l.address == local)
                             : (l.type != CandidateType::Relayed && l.base == local))
                    return &p;
            }
        }
        return nullptr;
    }

    void onResponse(Timestamp now, const stun::Message& msg, const Endpoint& local, bool viaRelay,
                    const Endpoint& from) {
        for (auto& tx : gatherTxs) {
            if (!tx.done && tx.tid == msg.transactionId()) {
                onGatherResponse(now, tx, msg);
                return;
            }
        }
        for (Session* s : {current.get(), previous.get()}) {
            if (!s) continue;
            for (size_t i = 0; i < s->pairs.size(); ++i) {
                if (s->pairs[i].check && s->pairs[i].check->tid == msg.transactionId()) {
                    onCheckResponse(now, *s, i, msg, local, viaRelay, from);
                    return;
                }
            }
        }
        onConsentResponse(now, msg);
    }

    // Is this UDP datagram from one of our TURN servers on this base?
    std::optional<size_t> turnForPacket(const PacketView& pkt) const {
        for (size_t i = 0; i < turns.size(); ++i) {
            const auto& t = turns[i];
            if (t.config.transport != pkt.protocol || t.config.address != pkt.remote) continue;
            if (pkt.protocol == TransportProtocol::Udp ? t.base == pkt.local : t.base.ip == pkt.local.ip)
                return i;
        }
        return std::nullopt;
    }

    bool isOurTransaction(const stun::TransactionId& tid) const {
        for (const auto& tx : gatherTxs)
            if (tx.tid == tid) return true;
        for (const Session* s : {current.get(), previous.get()}) {
            if (!s) continue;
            for (const auto& p : s->pairs)
                if (p.check && p.check->tid == tid) return true;
        }
        for (const auto& c : consentTxs)
            if (c.tid == tid) return true;
        return false;
    }

    void handlePacket(Timestamp now, const PacketView& pkt) {
        if (state == IceState::Closed && !anyTurnBusy()) return;
        if (auto ti = turnForPacket(pkt)) {
            // A STUN server and a TURN server often share an address: answers to our own
            // Binding requests are ours, everything else from there is the TURN client's.
            bool ours = false;
            if (pkt.protocol == TransportProtocol::Udp && stun::looksLikeStun(pkt.data)) {
                stun::TransactionId tid;
                std::copy_n(pkt.data.begin() + 8, tid.size(), tid.begin());
                ours = isOurTransaction(tid);
            }
            if (!ours) {
                turns[*ti].client->handleIncoming(now, pkt.data);
                drainTurn(now, *ti);
                afterInput(now);
                return;
            }
        }
        if (pkt.protocol != TransportProtocol::Udp) return;
        onDatagram(now, pkt.local, false, pkt.remote, pkt.data);
        afterInput(now);
    }

    bool anyTurnBusy() const {
        return std::any_of(turns.begin(), turns.end(), [](const TurnEntry& t) {
            return t.client->state() == turn::State::Closing;
        });
    }

    void handleStreamState(Timestamp now, TransportProtocol protocol, const Endpoint& local,
                           const Endpoint& remote, StreamState st) {
        for (size_t i = 0; i < turns.size(); ++i) {
            auto& t = turns[i];
            if (t.config.transport == protocol && t.config.address == remote && t.base.ip == local.ip) {
                t.client->handleStreamState(now, st);
                drainTurn(now, i);
            }
        }
        afterInput(now);
    }

    void afterInput(Timestamp now) {
        if (state == IceState::Closed) return;
        scheduleChecks(now);
        evaluateFailure(now);
    }

    void handleTimeout(Timestamp now) {
        for (auto& tx : gatherTxs) serviceGatherTx(now, tx);
        for (size_t i = 0; i < turns.size(); ++i) {
            auto to = turns[i].client->pollTimeout();
            if (to && *to <= now) {
                turns[i].client->handleTimeout(now);
                drainTurn(now, i);
            }
        }
        if (state == IceState::Closed) return;
        for (Session* s : {current.get(), previous.get()}) {
            if (!s) continue;
            for (size_t i = 0; i < s->pairs.size(); ++i) {
                if (s->pairs[i].check) {
                    auto d = s->pairs[i].check->timer.deadline();
                    if (d && *d <= now) serviceCheck(now, *s, i);
                }
            }
        }
        Session& s = *current;
        if (s.nominationDeadline && now >= *s.nominationDeadline) updateSelection(now);
        serviceConsent(now);
        afterInput(now);
    }

    std::optional<Timestamp> pollTimeout() const {
        std::optional<Timestamp> t;
        auto consider = [&](std::optional<Timestamp> c) {
            if (c && (!t || *c < *t)) t = c;
        };
        for (const auto& tx : gatherTxs)
            if (!tx.done) consider(tx.timer.deadline());
        for (const auto& tr : turns) consider(tr.client->pollTimeout());
        if (state == IceState::Closed) return t;
        for (const Session* s : {current.get(), previous.get()}) {
            if (!s) continue;
            for (const auto& p : s->pairs)
                if (p.check) consider(p.check->timer.deadline());
        }
        const Session& s = *current;
        if (state != IceState::Failed) {
            if (hasPendingChecks(s)) consider(lastCheckSent ? *lastCheckSent + config.ta : Timestamp{});
            consider(s.nominationDeadline);
            if (selected) consider(consentNext);
            if (!selected && s.allFailedSince) consider(*s.allFailedSince + config.failedGrace);
            if (!selected && s.checksStarted) consider(*s.checksStarted + config.checkingTimeout);
        }
        return t;
    }
};

// ==================================================================== Agent

Agent::Agent(AgentConfig config, Random& random)
    : impl_(std::make_unique<Impl>(std::move(config), random)) {}

Agent::~Agent() = default;

void Agent::addHostBase(const Endpoint& base) {
    auto& I = *impl_;
    if (std::find(I.bases.begin(), I.bases.end(), base) != I.bases.end()) return;
    I.bases.push_back(base);
}

void Agent::startGathering(Timestamp now) {
    auto& I = *impl_;
    if (I.started) return;
    I.started = true;
    I.setGathering(GatheringState::Gathering);
    for (const auto& b : std::vector<Endpoint>(I.bases)) I.startBase(now, b);
    I.updateGathering();
}

const Credentials& Agent::localCredentials() const { return impl_->current->local; }
Role Agent::role() const { return impl_->role; }
void Agent::setRole(Role role) {
    impl_->role = role;
    impl_->recomputePriorities();
}
uint64_t Agent::tieBreaker() const { return impl_->tieBreaker; }
IceState Agent::state() const { return impl_->state; }
GatheringState Agent::gatheringState() const { return impl_->gathering; }
std::string Agent::failureReason() const { return impl_->failure; }

void Agent::setRemoteCredentials(Timestamp now, const Credentials& remote) {
    auto& I = *impl_;
    if (I.current->remote && (I.current->remote->ufrag != remote.ufrag || I.current->remote->pwd != remote.pwd)) {
        // The remote restarted ICE (RFC 8445 §9): so do we.
        restart(now);
    }
    I.current->remote = remote;
    I.updateSelection(now);
    I.scheduleChecks(now);
}

std::optional<std::string> Agent::addRemoteCandidate(Timestamp now, std::string_view sdp) {
    auto parsed = parseCandidate(sdp);
    if (auto* err = std::get_if<CandidateParseError>(&parsed)) return err->reason;
    addRemoteCandidate(now, std::get<Candidate>(parsed));
    return std::nullopt;
}

void Agent::addRemoteCandidate(Timestamp now, const Candidate& candidate) {
    auto& I = *impl_;
    if (I.state == IceState::Closed) return;
    if (candidate.component != 1 || candidate.transport != TransportProtocol::Udp) return;
    if (candidate.isMdns()) {
        for (const auto& p : I.pendingMdns)
            if (p.hostname == candidate.hostname && p.address.port == candidate.address.port) return;
        I.pendingMdns.push_back(candidate);
        I.events.emplace_back(event::MdnsQuery{candidate.hostname});
        return;
    }
    Impl::Session& s = *I.current;
    for (auto& r : s.remotes) {
        if (r.address == candidate.address) {
            // A signaled candidate we had learned as peer-reflexive: adopt its real type
            // (RFC 8838 §11.4), keep the pairs.
            if (r.type == CandidateType::PeerReflexive && candidate.type != CandidateType::PeerReflexive) {
                r.type = candidate.type;
                r.foundation = candidate.foundation;
                r.related = candidate.related;
                for (auto& p : s.pairs)
                    if (&s.remotes[p.remote] == &r) p.stats.remote = r;
                if (I.selected && I.selected->session == &s && &s.remotes[s.pairs[I.selected->pair].remote] == &r)
                    I.events.emplace_back(event::SelectedPairChanged{I.pairInfo(s, s.pairs[I.selected->pair])});
            }
            return;
        }
    }
    if (s.remotes.size() >= kMaxRemoteCandidates) return;
    s.remotes.push_back(candidate);
    size_t ri = s.remotes.size() - 1;
    for (size_t li = 0; li < s.locals.size(); ++li) I.addPair(now, s, li, ri);
    I.updateSelection(now);
    I.scheduleChecks(now);
}

void Agent::endOfRemoteCandidates(Timestamp now) {
    auto& I = *impl_;
    I.current->remoteEndOfCandidates = true;
    I.updateSelection(now);
    I.evaluateFailure(now);
}

void Agent::resolvedMdns(Timestamp now, const std::string& hostname, std::optional<IpAddress> ip) {
    auto& I = *impl_;
    std::vector<Candidate> ready;
    for (auto it = I.pendingMdns.begin(); it != I.pendingMdns.end();) {
        if (it->hostname == hostname) {
            if (ip) {
                Candidate c = *it;
                c.address.ip = *ip;
                c.hostname.clear();
                ready.push_back(c);
            }
            it = I.pendingMdns.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& c : ready) addRemoteCandidate(now, c);
}

void Agent::restart(Timestamp now) {
    auto& I = *impl_;
    if (I.state == IceState::Closed) return;
    spdlog::debug("ice: restart");
    auto fresh = I.newSession();
    // Keep the session that carries data until the new one selects a pair.
    if (I.selected && I.selected->session == I.current.get()) I.previous = std::move(I.current);
    I.current = std::move(fresh);
    I.lastCheckSent.reset();
    if (I.state == IceState::Failed) {
        I.state = IceState::New;
        I.failure.clear();
        I.events.emplace_back(event::StateChanged{IceState::New});
    }
    // Regather: host candidates again, fresh STUN queries, existing relays re-announced.
    I.setGathering(GatheringState::Gathering);
    if (I.config.policy == TransportPolicy::All)
        for (const auto& b : I.bases) I.addLocalCandidate(now, I.hostCandidate(b), true);
    for (const auto& b : std::vector<Endpoint>(I.bases)) {
        if (I.config.policy != TransportPolicy::All) break;
        for (const auto& server : I.config.stunServers)
            if (server.address.ip.family() == b.ip.family()) I.startGatherTx(now, b, server);
    }
    if (I.previous) {
        for (const auto& c : I.previous->locals)
            if (c.type == CandidateType::Relayed || c.type == CandidateType::ServerReflexive)
                I.addLocalCandidate(now, c, true);
    }
    I.updateGathering();
}

void Agent::close(Timestamp now) {
    auto& I = *impl_;
    if (I.state == IceState::Closed) return;
    for (size_t i = 0; i < I.turns.size(); ++i) {
        I.turns[i].client->close(now);
        I.drainTurn(now, i);
    }
    I.selected.reset();
    I.consentNext.reset();
    I.setState(IceState::Closed);
}

bool Agent::send(Timestamp now, ByteView data) {
    auto& I = *impl_;
    if (!I.selected || I.state == IceState::Closed || I.state == IceState::Failed) return false;
    auto& s = *I.selected->session;
    auto& p = s.pairs[I.selected->pair];
    p.stats.packetsSent++;
    p.stats.bytesSent += data.size();
    p.stats.lastPacketSent = now;
    const Candidate& l = s.locals[p.local];
    const Endpoint& r = s.remotes[p.remote].address;
    if (l.type == CandidateType::Relayed) {
        auto idx = I.turnIndexFor(l);
        if (!idx) return false;
        bool ok = I.turns[*idx].client->sendTo(now, r, data);
        I.flushTurn(*idx);
        return ok;
    }
    I.transmits.push_back(Packet{TransportProtocol::Udp, l.base, r, Bytes(data.begin(), data.end())});
    return true;
}

void Agent::setDataHandler(std::function<void(ByteView)> handler) { impl_->dataHandler = std::move(handler); }

std::optional<CandidatePairInfo> Agent::selectedPair() const {
    auto& I = *impl_;
    if (!I.selected) return std::nullopt;
    return I.pairInfo(*I.selected->session, I.selected->session->pairs[I.selected->pair]);
}

AgentStats Agent::stats() const {
    auto& I = *impl_;
    AgentStats st;
    const Impl::Session& s = *I.current;
    for (const auto& c : s.locals)
        if (c.type != CandidateType::PeerReflexive) st.localCandidates.push_back(c);
    st.remoteCandidates = s.remotes;
    for (const Impl::Session* sess : {I.previous.get(), I.current.get()}) {
        if (!sess) continue;
        for (size_t i = 0; i < sess->pairs.size(); ++i) {
            const auto& p = sess->pairs[i];
            PairStats ps = p.stats;
            ps.local = sess->locals[p.local];
            ps.remote = sess->remotes[p.remote];
            ps.state = p.state;
            ps.nominated = p.nominated;
            ps.priority = p.priority;
            ps.selected = I.selected && I.selected->session == sess && I.selected->pair == i;
            st.pairs.push_back(std::move(ps));
        }
    }
    st.stunMalformedDropped = I.malformed;
    st.stunUnauthorized = I.unauthorized;
    st.dataDroppedUnknownSource = I.unknownSource;
    st.roleConflicts = I.roleConflicts;
    return st;
}

void Agent::handlePacket(Timestamp now, const PacketView& packet) { impl_->handlePacket(now, packet); }

void Agent::handleStreamState(Timestamp now, TransportProtocol protocol, const Endpoint& local,
                              const Endpoint& remote, StreamState state) {
    impl_->handleStreamState(now, protocol, local, remote, state);
}

void Agent::handleTimeout(Timestamp now) { impl_->handleTimeout(now); }

std::optional<Packet> Agent::pollTransmit() {
    auto& q = impl_->transmits;
    if (q.empty()) return std::nullopt;
    Packet p = std::move(q.front());
    q.pop_front();
    return p;
}

std::optional<Timestamp> Agent::pollTimeout() { return impl_->pollTimeout(); }

std::optional<Event> Agent::pollEvent() {
    auto& q = impl_->events;
    if (q.empty()) return std::nullopt;
    Event e = std::move(q.front());
    q.pop_front();
    return e;
}

}  // namespace tincan::ice
