#include "core/ice/candidate_pair.hpp"

#include <utility>

namespace tincan::ice {

CandidatePair::CandidatePair(size_t localIndex, size_t remoteIndex, const Candidate& l,
                             const Candidate& r, Role role)
    : local(localIndex),
      remote(remoteIndex),
      priority(priorityFor(role, l, r)),
      foundation(l.foundation + ":" + r.foundation) {
    stats.local = l;
    stats.remote = r;
    stats.priority = priority;
}

uint64_t CandidatePair::priorityFor(Role role, const Candidate& l, const Candidate& r) {
    return role == Role::Controlling ? pairPriority(l.priority, r.priority)
                                     : pairPriority(r.priority, l.priority);
}

void CandidatePair::updatePriority(Role role, const Candidate& l, const Candidate& r) {
    priority = priorityFor(role, l, r);
    stats.priority = priority;
}

void CandidatePair::beginCheck(PairCheck c) {
    check = std::move(c);
    if (state != PairState::Succeeded) state = PairState::InProgress;
}

void CandidatePair::fail() {
    state = PairState::Failed;
    useCandidate = false;
    check.reset();
}

void CandidatePair::abandon() {
    state = PairState::Failed;
    check.reset();
}

bool CandidatePair::succeed(bool nominates) {
    bool wasSucceeded = state == PairState::Succeeded;
    state = PairState::Succeeded;
    if (nominates) nominated = true;
    return !wasSucceeded;
}

void CandidatePair::noteRequestSent(Timestamp now) {
    stats.requestsSent++;
    stats.lastPacketSent = now;
}

void CandidatePair::noteResponseReceived(Timestamp now) {
    stats.responsesReceived++;
    stats.lastPacketReceived = now;
}

void CandidatePair::noteRtt(Duration rtt) {
    stats.currentRtt = rtt;
    stats.totalRtt += rtt;
    stats.rttSamples++;
}

void CandidatePair::noteRequestAnswered(Timestamp now) {
    stats.requestsReceived++;
    stats.responsesSent++;
    stats.lastPacketReceived = now;
}

void CandidatePair::noteDataSent(Timestamp now, size_t bytes) {
    stats.packetsSent++;
    stats.bytesSent += bytes;
    stats.lastPacketSent = now;
}

void CandidatePair::noteDataReceived(Timestamp now, size_t bytes) {
    stats.packetsReceived++;
    stats.bytesReceived += bytes;
    stats.lastPacketReceived = now;
}

PairStats CandidatePair::snapshot(const Candidate& l, const Candidate& r, bool selected) const {
    PairStats ps = stats;
    ps.local = l;
    ps.remote = r;
    ps.state = state;
    ps.nominated = nominated;
    ps.priority = priority;
    ps.selected = selected;
    return ps;
}

}  // namespace tincan::ice
