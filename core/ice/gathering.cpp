// Gathering (RFC 8445 §5.1.1): a host candidate per base, server-reflexive candidates from
// STUN Binding transactions, relayed ones from TURN allocations (RFC 8656) over UDP, TCP or
// TLS, all in parallel and trickled (RFC 8838). Also the one way out for a candidate's bytes:
// straight from its base, or through its TURN client.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/ice/agent_impl.hpp"

namespace tincan::ice {

namespace {

uint32_t relayLocalPreference(TransportProtocol p) {
    // UDP relays beat TCP, which beat TLS (the cheapest transport to the server wins).
    switch (p) {
        case TransportProtocol::Udp:
            return 65535;
        case TransportProtocol::Tcp:
            return 65534;
        case TransportProtocol::Tls:
            return 65533;
    }
    return 0;
}

}  // namespace

std::string foundationOf(CandidateType type, const IpAddress& baseIp, const std::string& server,
                         TransportProtocol relayProto) {
    size_t h = std::hash<std::string>{}(
        fmt::format("{}|{}|{}|{}", int(type), baseIp.toString(), server, int(relayProto)));
    return std::to_string(uint32_t(h ^ (h >> 32)));
}

bool Agent::Impl::policyAllows(const Candidate& c) const {
    return config.policy == TransportPolicy::All || c.type == CandidateType::Relayed;
}

void Agent::Impl::addLocalCandidate(Timestamp now, Candidate c, bool signal) {
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

Candidate Agent::Impl::hostCandidate(const Endpoint& base) const {
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

void Agent::Impl::startBase(Timestamp now, const Endpoint& base) {
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

void Agent::Impl::startGatherTx(Timestamp now, const Endpoint& base,
                                const StunServerConfig& server) {
    auto msg = stun::Message::request(stun::Method::Binding, random);
    msg.addString(stun::attr::Software, config.software);
    stun::RetransmitPolicy pol;
    pol.rto = config.gatherRto;
    pol.rc = config.gatherRetries;
    pol.rm = 4;
    GatherTx tx{msg.transactionId(),
                base,
                server,
                msg.encode(nullptr, true),
                stun::TransactionTimer(pol, now),
                false};
    gatherTxs.push_back(std::move(tx));
    serviceGatherTx(now, gatherTxs.back());
}

void Agent::Impl::serviceGatherTx(Timestamp now, GatherTx& tx) {
    if (tx.done) return;
    switch (tx.timer.poll(now)) {
        case stun::TransactionTimer::Action::Send:
            transmits.push_back(
                Packet{TransportProtocol::Udp, tx.base, tx.server.address, tx.request});
            break;
        case stun::TransactionTimer::Action::TimedOut:
            tx.done = true;
            spdlog::debug("ice: no answer from STUN server {}", tx.server.url);
            updateGathering();
            break;
        case stun::TransactionTimer::Action::None:
            break;
    }
}

void Agent::Impl::onGatherResponse(Timestamp now, GatherTx& tx, const stun::Message& msg) {
    tx.done = true;
    auto mapped = msg.getXorAddress(stun::attr::XorMappedAddress);
    if (!mapped) mapped = msg.getAddress(stun::attr::MappedAddress);
    if (msg.isSuccess() && mapped) addServerReflexive(now, tx.base, *mapped, tx.server.url);
    updateGathering();
}

void Agent::Impl::addServerReflexive(Timestamp now, const Endpoint& base, const Endpoint& mapped,
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
    c.foundation =
        foundationOf(CandidateType::ServerReflexive, base.ip, "stun", TransportProtocol::Udp);
    for (const auto& l : current->locals)
        if (l.address == mapped) return;  // not behind a NAT: same as a host candidate
    addLocalCandidate(now, c, true);
}

void Agent::Impl::updateGathering() {
    if (!started) return;
    bool busy = std::any_of(gatherTxs.begin(), gatherTxs.end(), [](auto& t) { return !t.done; }) ||
                std::any_of(turns.begin(), turns.end(), [](auto& t) { return !t.done; });
    setGathering(busy ? GatheringState::Gathering : GatheringState::Complete);
}

// Only the bytes for the server: safe from any call path (no events are handled).
void Agent::Impl::flushTurn(size_t index) {
    auto& e = turns[index];
    while (auto out = e.client->pollOutgoing())
        transmits.push_back(Packet{e.config.transport, e.base, e.config.address, std::move(*out)});
}

// Bytes and events; only called where TURN input arrives (packets, timeouts, streams).
void Agent::Impl::drainTurn(Timestamp now, size_t index) {
    while (true) {
        auto& e = turns[index];
        if (auto out = e.client->pollOutgoing()) {
            transmits.push_back(
                Packet{e.config.transport, e.base, e.config.address, std::move(*out)});
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
            c.priority =
                candidatePriority(CandidateType::Relayed, relayLocalPreference(e.config.transport));
            c.foundation = foundationOf(CandidateType::Relayed, e.base.ip,
                                        e.config.address.toString(), e.config.transport);
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

void Agent::Impl::removeRelayCandidates(size_t turnIndex) {
    auto relayed = turns[turnIndex].client->relayedAddress();
    if (!relayed) return;
    for (Session* s : {current.get(), previous.get()}) {
        if (!s) continue;
        for (auto& p : s->pairs) {
            if (s->locals[p.local].type == CandidateType::Relayed &&
                s->locals[p.local].address == *relayed)
                p.abandon();
        }
    }
    if (selected) {
        const auto& p = selected->session->pairs[selected->pair];
        if (p.state == PairState::Failed) selected.reset();
    }
}

std::optional<size_t> Agent::Impl::turnIndexFor(const Candidate& relayLocal) {
    for (size_t i = 0; i < turns.size(); ++i)
        if (turns[i].client->relayedAddress() &&
            *turns[i].client->relayedAddress() == relayLocal.address)
            return i;
    return std::nullopt;
}

void Agent::Impl::sendFrom(Timestamp now, const Candidate& local, const Endpoint& remote,
                           Bytes data) {
    if (local.type == CandidateType::Relayed) {
        auto idx = turnIndexFor(local);
        if (!idx) return;
        turns[*idx].client->sendTo(now, remote, data);
        flushTurn(*idx);
    } else {
        transmits.push_back(Packet{TransportProtocol::Udp, local.base, remote, std::move(data)});
    }
}

}  // namespace tincan::ice
