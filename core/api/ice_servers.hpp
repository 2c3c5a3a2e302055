// ICE servers as users write them (tincan/ice_server.hpp) → the agent's resolved server list,
// with TLS set up on the runtime for turns: servers.
#pragma once

#include <string>
#include <vector>

#include "core/ice/agent.hpp"
#include "core/net/runtime.hpp"
#include "tincan/ice_server.hpp"

namespace tincan::api {

// Parses every URL, looks the host names up (blocking), and appends to config's STUN and TURN
// lists; `tlsCaFile` is an extra trust anchor for turns:. The error names the URL and the reason.
Result<void> resolveIceServers(const std::vector<IceServer>& servers, const std::string& tlsCaFile,
                               ice::AgentConfig& config, net::Runtime& runtime);

}  // namespace tincan::api
