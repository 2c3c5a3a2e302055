// The ICE part of a getStats() report (tincan/stats.hpp), shared by PeerConnection and
// IceTransport: candidates, candidate pairs, and the transport's ICE members.
#pragma once

#include "core/ice/agent.hpp"
#include "tincan/stats.hpp"

namespace tincan::pc {

// Fills report.candidates, report.candidatePairs and report.transport (ICE members and the
// STUN drop counters); timestampMs is set to the wall clock.
void addIceStats(StatsReport& report, const ice::AgentStats& stats, ice::IceState state,
                 ice::Role role);

}  // namespace tincan::pc
