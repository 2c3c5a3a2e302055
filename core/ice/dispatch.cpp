// Inputs routed to the parts of the agent: datagrams (TURN, STUN requests and responses,
// application data), stream state changes, timeouts; then failure checks and the next deadline.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/ice/agent_impl.hpp"

namespace tincan::ice {

void Agent::Impl::evaluateFailure(Timestamp now) {
    if (state == IceState::Failed || state == IceState::Closed || selected) return;
    Session& s = *current;
    if (!s.remote) return;
    bool allFailed =
        !s.pairs.empty() && std::all_of(s.pairs.begin(), s.pairs.end(),
                                        [](const Pair& p) { return p.state == PairState::Failed; });
    bool noLocal = gathering == GatheringState::Complete &&
                   std::none_of(s.locals.begin(), s.locals.end(), [&](const Candidate& c) {
                       return policyAllows(c) && c.type != CandidateType::PeerReflexive;
                   });
    if (noLocal) {
        std::string why =
            config.policy == TransportPolicy::Relay ? "no relayed candidate" : "no local candidate";
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
        fail(fmt::format(
            "no candidate pair succeeded after {} s",
            std::chrono::duration_cast<std::chrono::seconds>(config.checkingTimeout).count()));
    }
}

void Agent::Impl::onDatagram(Timestamp now, const Endpoint& local, bool viaRelay,
                             const Endpoint& from, ByteView data) {
    if (data.empty()) return;
    if (stun::looksLikeStun(data)) {
        auto parsed = stun::parse(data);
        if (!parsed) {
            malformed++;
            spdlog::debug("ice: dropped malformed STUN from {}: {}", from.toString(),
                          parsed.error().message);
            return;
        }
        auto& msg = *parsed;
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
    pair->noteDataReceived(now, data.size());
    if (role == Role::Controlled && pair->nominated && pair->state == PairState::Succeeded &&
        (!selected || &selected->session->pairs[selected->pair] != pair)) {
        // The controlling peer sends on another nominated pair: follow it (nomination.cpp).
        pair->peerSwitchedHere = now;
        updateSelection(now);
    }
    if (dataHandler)
        dataHandler(data);
    else
        events.emplace_back(event::Data{Bytes(data.begin(), data.end())});
}

Agent::Impl::Pair* Agent::Impl::findPairForData(const Endpoint& local, bool viaRelay,
                                                const Endpoint& from) {
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

void Agent::Impl::onResponse(Timestamp now, const stun::Message& msg, const Endpoint& local,
                             bool viaRelay, const Endpoint& from) {
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
std::optional<size_t> Agent::Impl::turnForPacket(const PacketView& pkt) const {
    for (size_t i = 0; i < turns.size(); ++i) {
        const auto& t = turns[i];
        if (t.config.transport != pkt.protocol || t.config.address != pkt.remote) continue;
        if (pkt.protocol == TransportProtocol::Udp ? t.base == pkt.local
                                                   : t.base.ip == pkt.local.ip)
            return i;
    }
    return std::nullopt;
}

bool Agent::Impl::isOurTransaction(const stun::TransactionId& tid) const {
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

void Agent::Impl::handlePacket(Timestamp now, const PacketView& pkt) {
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

bool Agent::Impl::anyTurnBusy() const {
    return std::any_of(turns.begin(), turns.end(), [](const TurnEntry& t) {
        return t.client->state() == turn::State::Closing;
    });
}

void Agent::Impl::handleStreamState(Timestamp now, TransportProtocol protocol,
                                    const Endpoint& local, const Endpoint& remote, StreamState st) {
    for (size_t i = 0; i < turns.size(); ++i) {
        auto& t = turns[i];
        if (t.config.transport == protocol && t.config.address == remote && t.base.ip == local.ip) {
            t.client->handleStreamState(now, st);
            drainTurn(now, i);
        }
    }
    afterInput(now);
}

void Agent::Impl::afterInput(Timestamp now) {
    if (state == IceState::Closed) return;
    scheduleChecks(now);
    evaluateFailure(now);
}

void Agent::Impl::handleTimeout(Timestamp now) {
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

std::optional<Timestamp> Agent::Impl::pollTimeout() const {
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
        if (s.hasPendingChecks())
            consider(lastCheckSent ? *lastCheckSent + config.ta : Timestamp{});
        consider(s.nominationDeadline);
        if (selected) consider(consentNext);
        if (!selected && s.allFailedSince) consider(*s.allFailedSince + config.failedGrace);
        if (!selected && s.checksStarted) consider(*s.checksStarted + config.checkingTimeout);
    }
    return t;
}

}  // namespace tincan::ice
