#include "core/pc/stats.hpp"

#include <chrono>

namespace tincan::pc {

namespace {

std::string candidateId(const char* prefix, const ice::Candidate& c) {
    return std::string(prefix) + "-" + c.address.toString() + "-" + ice::toString(c.type);
}

IceCandidateStats candidateStats(const ice::Candidate& c, bool local) {
    IceCandidateStats s;
    s.id = candidateId(local ? "L" : "R", c);
    s.local = local;
    s.candidateType = ice::toString(c.type);
    s.protocol = c.transport == TransportProtocol::Udp ? "udp" : "tcp";
    s.address = c.isMdns() ? c.hostname : c.address.ip.toString();
    s.port = c.address.port;
    s.priority = c.priority;
    s.foundation = c.foundation;
    if (c.relayProtocol) s.relayProtocol = tincan::toString(*c.relayProtocol);
    if (!c.url.empty()) s.url = c.url;
    return s;
}

}  // namespace

void addIceStats(StatsReport& report, const ice::AgentStats& stats, ice::IceState state,
                 ice::Role role) {
    using namespace std::chrono;
    report.timestampMs =
        duration<double, std::milli>(system_clock::now().time_since_epoch()).count();
    for (const auto& c : stats.localCandidates)
        report.candidates.push_back(candidateStats(c, true));
    for (const auto& c : stats.remoteCandidates)
        report.candidates.push_back(candidateStats(c, false));
    TransportStats t;
    for (const auto& p : stats.pairs) {
        CandidatePairStats s;
        s.localCandidateId = candidateId("L", p.local);
        s.remoteCandidateId = candidateId("R", p.remote);
        s.id = "CP-" + s.localCandidateId + "_" + s.remoteCandidateId;
        s.state = ice::toString(p.state);
        s.nominated = p.nominated;
        s.selected = p.selected;
        s.priority = p.priority;
        s.requestsSent = p.requestsSent;
        s.requestsReceived = p.requestsReceived;
        s.responsesSent = p.responsesSent;
        s.responsesReceived = p.responsesReceived;
        s.consentRequestsSent = p.consentRequestsSent;
        s.packetsSent = p.packetsSent;
        s.packetsReceived = p.packetsReceived;
        s.bytesSent = p.bytesSent;
        s.bytesReceived = p.bytesReceived;
        s.totalRoundTripTime = duration<double>(p.totalRtt).count();
        if (p.currentRtt) s.currentRoundTripTime = duration<double>(*p.currentRtt).count();
        if (p.selected) {
            t.selectedCandidatePairId = s.id;
            t.bytesSent = p.bytesSent, t.bytesReceived = p.bytesReceived;
            t.packetsSent = p.packetsSent, t.packetsReceived = p.packetsReceived;
        }
        report.candidatePairs.push_back(std::move(s));
    }
    t.iceState = ice::toString(state);
    t.dtlsState = "new";
    t.iceRole = role == ice::Role::Controlling ? "controlling" : "controlled";
    t.stunMalformedDropped = stats.stunMalformedDropped;
    t.stunUnauthorized = stats.stunUnauthorized;
    t.iceRoleConflicts = stats.roleConflicts;
    report.transport = std::move(t);
}

}  // namespace tincan::pc
