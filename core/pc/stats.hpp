// getStats() reports with W3C webrtc-stats type and member names.
#pragma once

#include <nlohmann/json.hpp>

#include "core/ice/agent.hpp"

namespace tincan::pc {

// {"type":"srflx","protocol":"udp","address":"...","port":1,"priority":...[,"relayProtocol":"tcp"]}
nlohmann::json candidateJson(const ice::Candidate& c);
// transport, candidate-pair, local-candidate and remote-candidate entries.
nlohmann::json iceStatsReport(const ice::AgentStats& stats, ice::IceState state);

}  // namespace tincan::pc
