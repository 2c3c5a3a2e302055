// --stun / --turn options → the ICE servers of the public API (the library parses, resolves
// and configures them).
#pragma once

#include <string>
#include <vector>

#include "tincan/ice_server.hpp"

namespace tincan::cli {

struct ServerOptions {
    std::vector<std::string> stun;
    std::vector<std::string> turn;
    std::string turnUser;
    std::string turnPass;
    std::string turnCaFile;  // extra trust anchor for turns: servers
};

// The servers as IceServer entries, or the first bad option in words (no network access).
Result<std::vector<IceServer>> iceServers(const ServerOptions& options);

}  // namespace tincan::cli
