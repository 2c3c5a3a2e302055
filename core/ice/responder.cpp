// The binding responder (RFC 8445 §7.3): authenticates the peer's checks, answers them with
// XOR-MAPPED-ADDRESS, resolves role conflicts, learns peer-reflexive remotes and triggers our
// own check on the pair.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/ice/agent_impl.hpp"

namespace tincan::ice {

void Agent::Impl::respond(Timestamp now, const Candidate& local, const Endpoint& to,
                          const stun::Message& resp, const Bytes* key) {
    stun::Integrity integrity{key ? *key : Bytes{}, false};
    sendFrom(now, local, to, resp.encode(key ? &integrity : nullptr, true));
}

void Agent::Impl::onRequest(Timestamp now, const stun::Message& req, const Endpoint& localAddr,
                            bool viaRelay, const Endpoint& from) {
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
            auto resp =
                stun::Message::errorResponse(req, stun::error::Unauthenticated, "Unauthenticated");
            transmits.push_back(
                Packet{TransportProtocol::Udp, localAddr, from, resp.encode(nullptr, true)});
        }
        return;
    }
    Bytes key = stun::shortTermKey(s->local.pwd);
    const Candidate local = s->locals[*li];
    if (req.verifyIntegrity(key) != stun::IntegrityCheck::Ok) {
        unauthorized++;
        respond(now, local, from,
                stun::Message::errorResponse(req, stun::error::Unauthenticated, "Unauthenticated"),
                nullptr);
        return;
    }
    if (auto unknown = req.unknownComprehensionRequired(); !unknown.empty()) {
        auto resp =
            stun::Message::errorResponse(req, stun::error::UnknownAttribute, "Unknown Attribute");
        resp.addUnknownAttributes(unknown);
        respond(now, local, from, resp, &key);
        return;
    }
    auto priority = req.getU32(stun::attr::Priority);
    if (!priority) {
        respond(now, local, from,
                stun::Message::errorResponse(req, stun::error::BadRequest, "PRIORITY missing"),
                &key);
        return;
    }
    // RFC 8445 §7.3.1.1 role conflicts.
    if (auto theirs = req.getU64(stun::attr::IceControlling); theirs && role == Role::Controlling) {
        roleConflicts++;
        if (tieBreaker >= *theirs) {
            respond(now, local, from,
                    stun::Message::errorResponse(req, stun::error::RoleConflict, "Role Conflict"),
                    &key);
            return;
        }
        switchRole(Role::Controlled);
    } else if (auto theirs2 = req.getU64(stun::attr::IceControlled);
               theirs2 && role == Role::Controlled) {
        roleConflicts++;
        if (tieBreaker >= *theirs2) {
            switchRole(Role::Controlling);
        } else {
            respond(now, local, from,
                    stun::Message::errorResponse(req, stun::error::RoleConflict, "Role Conflict"),
                    &key);
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
        if (cur.remotes[i].address == from && cur.remotes[i].transport == TransportProtocol::Udp)
            ri = i;
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
    p.noteRequestAnswered(now);
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
        p.noteRequestSent(now);
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

}  // namespace tincan::ice
