// Which pair carries data (the best nominated one, else the best valid one) and, on the
// controlling side, regular nomination (RFC 8445 §8.1.1) after a short wait for better pairs.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/ice/agent_impl.hpp"

namespace tincan::ice {

namespace {

// Of two nominated pairs, whether `b` is the one to use. RFC 8445 §8.1.1 says the highest
// priority, which is what both sides get when the controlling peer nominates once (regular
// nomination) or every pair (aggressive). A nominated pair the controlling peer has moved its
// data to wins over that: libwebrtc nominates several pairs and switches between them by its
// own measure, and taking the highest priority would leave the sides sending on different pairs.
bool nominatedBefore(const CandidatePair& a, const CandidatePair& b) {
    if (a.peerSwitchedHere != b.peerSwitchedHere) return a.peerSwitchedHere < b.peerSwitchedHere;
    return a.priority < b.priority;
}

}  // namespace

void Agent::Impl::updateSelection(Timestamp now) {
    if (state == IceState::Closed || state == IceState::Failed) return;
    Session& s = *current;
    std::optional<size_t> bestNominated, bestValid;
    for (size_t i = 0; i < s.pairs.size(); ++i) {
        const Pair& p = s.pairs[i];
        if (p.state != PairState::Succeeded) continue;
        if (p.nominated && (!bestNominated || nominatedBefore(s.pairs[*bestNominated], p)))
            bestNominated = i;
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
        if (state != IceState::Disconnected)
            setState(isCompleted() ? IceState::Completed : IceState::Connected);
    } else if (s.remote && !s.pairs.empty() && state == IceState::New) {
        setState(IceState::Checking);
    } else if (!selected && (state == IceState::Connected || state == IceState::Completed)) {
        setState(IceState::Checking);
    }
}

bool Agent::Impl::isCompleted() const {
    if (!selected || !current || selected->session != current.get()) return false;
    const Session& s = *current;
    if (!s.pairs[selected->pair].nominated) return false;
    if (!s.remoteEndOfCandidates || gathering != GatheringState::Complete) return false;
    return std::none_of(s.pairs.begin(), s.pairs.end(),
                        [](const Pair& p) { return p.active() || p.state == PairState::Frozen; });
}

void Agent::Impl::maybeNominate(Timestamp now, Session& s, size_t best) {
    // Already nominating?
    for (const auto& p : s.pairs)
        if (p.useCandidate &&
            (p.check || p.state == PairState::InProgress || p.state == PairState::Waiting))
            return;
    uint64_t prio = s.pairs[best].priority;
    bool betterPending = std::any_of(s.pairs.begin(), s.pairs.end(), [&](const Pair& p) {
        return p.priority > prio && p.unresolved();
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

void Agent::Impl::nominate(Timestamp now, Session& s, size_t pi) {
    Pair& p = s.pairs[pi];
    spdlog::debug("ice: nominating {} -> {}", s.locals[p.local].address.toString(),
                  s.remotes[p.remote].address.toString());
    p.useCandidate = true;
    s.nominationDeadline.reset();
    startCheck(now, s, pi);  // not paced: the pair is known to work
}

// RFC 8445 §7.2.5.3.2: the valid pair's local candidate is the one whose address the peer
// saw (a srflx or learned prflx behind a NAT), not necessarily the base we sent from.
const Candidate& Agent::Impl::effectiveLocal(const Session& s, const Pair& p) const {
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

CandidatePairInfo Agent::Impl::pairInfo(const Session& s, const Pair& p) const {
    CandidatePairInfo info;
    info.local = effectiveLocal(s, p);
    info.remote = s.remotes[p.remote];
    info.path = classifyPath(info.local, info.remote);
    if (info.path == PathType::Relay)
        info.relayProtocol = info.local.relayProtocol.value_or(TransportProtocol::Udp);
    info.rtt = p.stats.currentRtt.value_or(Duration{});
    return info;
}

}  // namespace tincan::ice
