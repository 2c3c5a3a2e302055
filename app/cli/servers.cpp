#include "app/cli/servers.hpp"

namespace tincan::cli {

Result<std::vector<IceServer>> iceServers(const ServerOptions& options) {
    std::vector<IceServer> out;
    for (const auto& text : options.stun) {
        auto url = parseIceServerUrl(text);
        if (!url) return Error{"--stun: " + url.message()};
        if (url->isTurn()) return Error{"bad --stun '" + text + "': a turn: URI belongs in --turn"};
        if (url->scheme == IceServerUrl::Scheme::Stuns)
            return Error{"bad --stun '" + text + "': stuns: is not supported"};
        out.push_back(IceServer{{text}, {}, {}});
    }
    for (const auto& text : options.turn) {
        auto url = parseIceServerUrl(text);
        if (!url) return Error{"--turn: " + url.message()};
        if (!url->isTurn())
            return Error{"bad --turn '" + text + "': expected a turn: or turns: URI"};
        if (options.turnUser.empty() || options.turnPass.empty())
            return Error{"--turn " + text + " needs --turn-user and --turn-pass"};
        out.push_back(IceServer{{text}, options.turnUser, options.turnPass});
    }
    return out;
}

}  // namespace tincan::cli
