// The checklist (RFC 8445 §6.1.2): pairs formed and pruned, unfrozen per foundation, one
// ordinary or triggered check per Ta (§6.1.4.2), and the answers to our checks (§7.2.5):
// success, failure, role conflicts, and the peer-reflexive candidates they teach us.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/ice/agent_impl.hpp"

namespace tincan::ice {

bool Agent::Impl::canPair(const Candidate& l, const Candidate& r) const {
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

std::optional<size_t> Agent::Impl::Session::findPair(size_t li, size_t ri) const {
    for (size_t i = 0; i < pairs.size(); ++i)
        if (pairs[i].local == li && pairs[i].remote == ri) return i;
    return std::nullopt;
}

std::optional<size_t> Agent::Impl::addPair(Timestamp now, Session& s, size_t li, size_t ri) {
    const Candidate& l = s.locals[li];
    const Candidate& r = s.remotes[ri];
    if (!canPair(l, r)) return std::nullopt;
    if (auto existing = s.findPair(li, ri)) return existing;
    // Pruning (RFC 8445 §6.1.2.4): pairs are formed from bases only, so a pair with the
    // same local base and remote address already covers this one.
    for (size_t i = 0; i < s.pairs.size(); ++i) {
        const auto& p = s.pairs[i];
        if (s.locals[p.local].base == l.base && s.locals[p.local].type == l.type &&
            s.remotes[p.remote].address == r.address)
            return i;
    }
    if (s.pairs.size() >= kMaxPairs) return std::nullopt;  // indices stay stable
    s.pairs.emplace_back(li, ri, l, r, role);
    size_t index = s.pairs.size() - 1;
    if (l.type == CandidateType::Relayed) {
        // Install the permission now so the peer's first check through the relay gets in.
        if (auto idx = turnIndexFor(l)) {
            turns[*idx].client->createPermission(now, r.address.ip);
            flushTurn(*idx);
        }
    }
    s.unfreeze();
    s.allFailedSince.reset();
    return index;
}

// RFC 8445 §6.1.2.6 / RFC 8838 §11: in each foundation with nothing under way, the
// highest-priority frozen pair becomes Waiting.
void Agent::Impl::Session::unfreeze() {
    for (size_t i = 0; i < pairs.size(); ++i) {
        if (pairs[i].state != PairState::Frozen) continue;
        const std::string& f = pairs[i].foundation;
        bool active = false;
        size_t best = i;
        for (size_t j = 0; j < pairs.size(); ++j) {
            if (pairs[j].foundation != f) continue;
            if (pairs[j].active()) active = true;
            if (pairs[j].state == PairState::Frozen && pairs[j].priority > pairs[best].priority)
                best = j;
        }
        if (!active) pairs[best].state = PairState::Waiting;
    }
}

void Agent::Impl::Session::unfreezeFoundation(const std::string& foundation) {
    for (auto& p : pairs)
        if (p.state == PairState::Frozen && p.foundation == foundation)
            p.state = PairState::Waiting;
}

void Agent::Impl::recomputePriorities() {
    for (Session* s : {current.get(), previous.get()}) {
        if (!s) continue;
        for (auto& p : s->pairs) p.updatePriority(role, s->locals[p.local], s->remotes[p.remote]);
    }
}

Bytes Agent::Impl::buildCheck(Session& s, Pair& p, stun::TransactionId& tidOut, bool useCandidate) {
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

stun::RetransmitPolicy Agent::Impl::checkPolicy() const {
    stun::RetransmitPolicy pol;
    pol.rto = config.checkRto;
    pol.maxInterval = config.checkMaxInterval;
    pol.rc = config.checkRetries;
    pol.rm = int(std::max<int64_t>(1, config.checkFinalWait / config.checkRto));
    return pol;
}

void Agent::Impl::startCheck(Timestamp now, Session& s, size_t pi) {
    Pair& p = s.pairs[pi];
    bool nominate = p.useCandidate || (config.aggressiveNomination && role == Role::Controlling);
    PairCheck c{{}, {}, stun::TransactionTimer(checkPolicy(), now), nominate, now};
    c.request = buildCheck(s, p, c.tid, nominate);
    p.beginCheck(std::move(c));
    if (!s.checksStarted) s.checksStarted = now;
    serviceCheck(now, s, pi);
}

void Agent::Impl::serviceCheck(Timestamp now, Session& s, size_t pi) {
    Pair& p = s.pairs[pi];
    if (!p.check) return;
    switch (p.check->timer.poll(now)) {
        case stun::TransactionTimer::Action::Send: {
            p.noteRequestSent(now);
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
        case stun::TransactionTimer::Action::None:
            break;
    }
}

void Agent::Impl::pairFailed(Timestamp now, Session& s, size_t pi) {
    s.pairs[pi].fail();
    if (selected && selected->session == &s && selected->pair == pi) {
        // The pair we were using stopped working: fall back to another valid one.
        selected.reset();
    }
    s.unfreeze();
    updateSelection(now);
    evaluateFailure(now);
}

// One ordinary or triggered check per Ta (RFC 8445 §6.1.4.2).
void Agent::Impl::scheduleChecks(Timestamp now) {
    Session& s = *current;
    if (!s.remote || state == IceState::Closed || state == IceState::Failed) return;
    if (lastCheckSent && now < *lastCheckSent + config.ta) return;
    std::optional<size_t> next;
    while (!s.triggered.empty() && !next) {
        size_t pi = s.triggered.front();
        s.triggered.pop_front();
        auto st = s.pairs[pi].state;
        if (st != PairState::InProgress &&
            !(st == PairState::Succeeded && !s.pairs[pi].useCandidate))
            next = pi;
    }
    if (!next) next = s.bestInState(PairState::Waiting);
    if (!next) {
        next = s.bestInState(PairState::Frozen);
    }
    if (!next) return;
    lastCheckSent = now;
    startCheck(now, s, *next);
}

std::optional<size_t> Agent::Impl::Session::bestInState(PairState st) const {
    std::optional<size_t> best;
    for (size_t i = 0; i < pairs.size(); ++i)
        if (pairs[i].state == st && (!best || pairs[i].priority > pairs[*best].priority)) best = i;
    return best;
}

bool Agent::Impl::Session::hasPendingChecks() const {
    if (!remote) return false;
    if (!triggered.empty()) return true;
    return std::any_of(pairs.begin(), pairs.end(), [](const Pair& p) { return p.awaitingCheck(); });
}

void Agent::Impl::onCheckResponse(Timestamp now, Session& s, size_t pi, const stun::Message& msg,
                                  const Endpoint& local, bool viaRelay, const Endpoint& from) {
    Pair& p = s.pairs[pi];
    if (!s.remote ||
        msg.verifyIntegrity(stun::shortTermKey(s.remote->pwd)) != stun::IntegrityCheck::Ok) {
        unauthorized++;
        return;  // not from our peer: keep waiting for the real answer
    }
    const Candidate& l = s.locals[p.local];
    // RFC 8445 §7.2.5.2.1: the response must come back on the same addresses.
    bool symmetric = from == s.remotes[p.remote].address &&
                     (viaRelay ? l.type == CandidateType::Relayed && local == l.address
                               : l.type != CandidateType::Relayed && local == l.base);
    PairCheck check = std::move(*p.check);
    p.check.reset();
    p.noteResponseReceived(now);
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
    if (check.timer.sends() == 1) p.noteRtt(now - check.firstSent);
    if (auto mapped = msg.getXorAddress(stun::attr::XorMappedAddress)) {
        learnLocalPrflx(s, p, *mapped);
        p.mapped = mapped;
    }
    bool nominates = check.useCandidate || (role == Role::Controlled && p.nominateOnSuccess);
    if (p.succeed(nominates)) s.unfreezeFoundation(p.foundation);
    if (selected && selected->session == &s && selected->pair == pi) consentOk(now);
    updateSelection(now);
    scheduleChecks(now);
}

void Agent::Impl::learnLocalPrflx(Session& s, const Pair& p, const Endpoint& mapped) {
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
    c.foundation =
        foundationOf(CandidateType::PeerReflexive, l.base.ip, "", TransportProtocol::Udp);
    s.locals.push_back(c);
}

void Agent::Impl::switchRole(Role r) {
    if (role == r) return;
    role = r;
    spdlog::debug("ice: role conflict, now {}",
                  r == Role::Controlling ? "controlling" : "controlled");
    recomputePriorities();
    events.emplace_back(event::RoleChanged{r});
}

}  // namespace tincan::ice
