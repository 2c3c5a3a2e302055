// A candidate pair on the agent's checklist (RFC 8445 §6.1.2) and the check in flight on it:
// its priority, its state machine (Frozen -> Waiting -> In-Progress -> Succeeded/Failed,
// §6.1.2.6) and its counters. Internal to core/ice: the agent owns the candidates and refers
// to them by index, so a pair is cheap to copy around the checklist.
#pragma once

#include <optional>
#include <string>

#include "core/ice/agent.hpp"
#include "core/stun/message.hpp"
#include "core/stun/transaction.hpp"

namespace tincan::ice {

// One connectivity check (RFC 8445 §7.2.4) and its retransmissions.
struct PairCheck {
    stun::TransactionId tid{};
    Bytes request;
    stun::TransactionTimer timer;
    bool useCandidate = false;
    Timestamp firstSent{};
};

struct CandidatePair {
    size_t local = 0;   // index into the session's local candidates
    size_t remote = 0;  // index into the session's remote candidates
    uint64_t priority = 0;
    std::string foundation;
    PairState state = PairState::Frozen;
    bool nominated = false;
    bool nominateOnSuccess = false;  // controlled: the peer sent USE-CANDIDATE
    // Controlled: when the peer last sent data on it while another pair was selected.
    std::optional<Timestamp> peerSwitchedHere;
    bool useCandidate = false;       // controlling: the next check nominates
    std::optional<Endpoint> mapped;  // XOR-MAPPED-ADDRESS of the last successful check
    std::optional<PairCheck> check;
    PairStats stats;

    CandidatePair(size_t localIndex, size_t remoteIndex, const Candidate& l, const Candidate& r,
                  Role role);

    // RFC 8445 §6.1.2.3: G is the controlling agent's candidate priority, D the controlled's.
    static uint64_t priorityFor(Role role, const Candidate& l, const Candidate& r);
    void updatePriority(Role role, const Candidate& l, const Candidate& r);

    // Waiting or In-Progress: its foundation has a check under way (§6.1.2.6).
    bool active() const { return state == PairState::Waiting || state == PairState::InProgress; }
    // Frozen or Waiting: an ordinary check is still to be sent.
    bool awaitingCheck() const { return state == PairState::Frozen || state == PairState::Waiting; }
    // Not yet Succeeded or Failed.
    bool unresolved() const { return state != PairState::Succeeded && state != PairState::Failed; }

    // A check goes out. A pair that already works stays Succeeded while it is re-checked
    // (nomination).
    void beginCheck(PairCheck c);
    // The pair does not work (timeout, error response, asymmetric answer).
    void fail();
    // Its local candidate went away (the TURN allocation failed): no more checks on it.
    void abandon();
    // A check succeeded; `nominates` when it carried (or answered) USE-CANDIDATE. Returns
    // true when the pair was not Succeeded before.
    bool succeed(bool nominates);

    void noteRequestSent(Timestamp now);
    void noteResponseReceived(Timestamp now);
    void noteRtt(Duration rtt);
    void noteRequestAnswered(Timestamp now);  // the peer's check, which we answered
    void noteDataSent(Timestamp now, size_t bytes);
    void noteDataReceived(Timestamp now, size_t bytes);

    PairStats snapshot(const Candidate& l, const Candidate& r, bool selected) const;
};

}  // namespace tincan::ice
