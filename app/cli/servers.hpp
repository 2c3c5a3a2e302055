// --stun / --turn options → resolved server configurations for the ICE agent.
#pragma once

#include <string>
#include <vector>

#include "core/ice/agent.hpp"
#include "core/net/runtime.hpp"

namespace tincan::cli {

struct ServerOptions {
    std::vector<std::string> stun;
    std::vector<std::string> turn;
    std::string turnUser;
    std::string turnPass;
    std::string turnCaFile;  // extra trust anchor for turns: servers
};

// Fills config.stunServers/turnServers; sets TLS options on the runtime for turns: servers.
// Returns an error message for the first bad URI or unresolvable host.
std::optional<std::string> configureServers(const ServerOptions& options, ice::AgentConfig& config,
                                            net::Runtime& runtime);

}  // namespace tincan::cli
