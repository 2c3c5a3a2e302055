#include "core/pc/stats.hpp"

namespace tincan::pc {

nlohmann::json candidateJson(const ice::Candidate& c) {
    nlohmann::json j = {{"type", ice::toString(c.type)},
                        {"protocol", c.transport == TransportProtocol::Udp ? "udp" : "tcp"},
                        {"address", c.isMdns() ? c.hostname : c.address.ip.toString()},
                        {"port", c.address.port},
                        {"priority", c.priority}};
    if (c.relayProtocol) j["relayProtocol"] = tincan::toString(*c.relayProtocol);
    if (!c.url.empty()) j["url"] = c.url;
    return j;
}

namespace {
std::string candidateId(const char* prefix, const ice::Candidate& c) {
    return std::string(prefix) + "-" + c.address.toString() + "-" + ice::toString(c.type);
}
}  // namespace

nlohmann::json iceStatsReport(const ice::AgentStats& stats, ice::IceState state) {
    nlohmann::json report = nlohmann::json::array();
    std::string selectedId;
    uint64_t bytesSent = 0, bytesReceived = 0, packetsSent = 0, packetsReceived = 0;
    for (const auto& c : stats.localCandidates) {
        nlohmann::json j = candidateJson(c);
        j["id"] = candidateId("L", c);
        j["type"] = "local-candidate";
        j["candidateType"] = ice::toString(c.type);
        report.push_back(j);
    }
    for (const auto& c : stats.remoteCandidates) {
        nlohmann::json j = candidateJson(c);
        j["id"] = candidateId("R", c);
        j["type"] = "remote-candidate";
        j["candidateType"] = ice::toString(c.type);
        report.push_back(j);
    }
    for (const auto& p : stats.pairs) {
        std::string id = "CP-" + candidateId("L", p.local) + "_" + candidateId("R", p.remote);
        nlohmann::json j = {{"id", id},
                  {"type", "candidate-pair"},
                  {"localCandidateId", candidateId("L", p.local)},
                  {"remoteCandidateId", candidateId("R", p.remote)},
                  {"state", ice::toString(p.state)},
                  {"nominated", p.nominated},
                  {"priority", p.priority},
                  {"requestsSent", p.requestsSent},
                  {"requestsReceived", p.requestsReceived},
                  {"responsesSent", p.responsesSent},
                  {"responsesReceived", p.responsesReceived},
                  {"consentRequestsSent", p.consentRequestsSent},
                  {"packetsSent", p.packetsSent},
                  {"packetsReceived", p.packetsReceived},
                  {"bytesSent", p.bytesSent},
                  {"bytesReceived", p.bytesReceived},
                  {"totalRoundTripTime", std::chrono::duration<double>(p.totalRtt).count()}};
        if (p.currentRtt) j["currentRoundTripTime"] = std::chrono::duration<double>(*p.currentRtt).count();
        if (p.selected) {
            selectedId = id;
            bytesSent = p.bytesSent, bytesReceived = p.bytesReceived;
            packetsSent = p.packetsSent, packetsReceived = p.packetsReceived;
        }
        report.push_back(j);
    }
    nlohmann::json transport = {{"id", "T01"},
                      {"type", "transport"},
                      {"iceState", ice::toString(state)},
                      {"bytesSent", bytesSent},
                      {"bytesReceived", bytesReceived},
                      {"packetsSent", packetsSent},
                      {"packetsReceived", packetsReceived},
                      {"stunMalformedDropped", stats.stunMalformedDropped},
                      {"stunUnauthorized", stats.stunUnauthorized},
                      {"iceRoleConflicts", stats.roleConflicts}};
    if (!selectedId.empty()) transport["selectedCandidatePairId"] = selectedId;
    report.push_back(transport);
    return report;
}

}  // namespace tincan::pc
