#include "app/cli/servers.hpp"

#include "core/ice/server_uri.hpp"
#include "core/net/dns.hpp"

namespace tincan::cli {

namespace {

std::variant<std::vector<Endpoint>, std::string> resolve(const ice::ServerUri& uri) {
    std::string err;
    auto ips = net::resolveHost(uri.host, &err);
    if (ips.empty()) return "cannot resolve " + uri.host + ": " + (err.empty() ? "no address" : err);
    // One address per family: the agent pairs by family.
    std::vector<Endpoint> out;
    bool v4 = false, v6 = false;
    for (const auto& ip : ips) {
        if (ip.isV4() && !v4) out.push_back({ip, uri.port}), v4 = true;
        if (ip.isV6() && !v6) out.push_back({ip, uri.port}), v6 = true;
    }
    return out;
}

}  // namespace

std::optional<std::string> configureServers(const ServerOptions& options, ice::AgentConfig& config,
                                            net::Runtime& runtime) {
    for (const auto& text : options.stun) {
        auto parsed = ice::parseServerUri(text);
        if (auto* e = std::get_if<ice::UriError>(&parsed)) return "bad --stun '" + text + "': " + e->reason;
        auto& uri = std::get<ice::ServerUri>(parsed);
        if (uri.isTurn()) return "bad --stun '" + text + "': a turn: URI belongs in --turn";
        if (uri.scheme == ice::ServerUri::Scheme::Stuns) return "bad --stun '" + text + "': stuns: is not supported";
        auto r = resolve(uri);
        if (auto* e = std::get_if<std::string>(&r)) return "--stun " + text + ": " + *e;
        for (const auto& ep : std::get<std::vector<Endpoint>>(r))
            config.stunServers.push_back(ice::StunServerConfig{ep, uri.toString()});
    }
    for (const auto& text : options.turn) {
        auto parsed = ice::parseServerUri(text);
        if (auto* e = std::get_if<ice::UriError>(&parsed)) return "bad --turn '" + text + "': " + e->reason;
        auto& uri = std::get<ice::ServerUri>(parsed);
        if (!uri.isTurn()) return "bad --turn '" + text + "': expected a turn: or turns: URI";
        if (options.turnUser.empty() || options.turnPass.empty())
            return "--turn " + text + " needs --turn-user and --turn-pass";
        auto r = resolve(uri);
        if (auto* e = std::get_if<std::string>(&r)) return "--turn " + text + ": " + *e;
        for (const auto& ep : std::get<std::vector<Endpoint>>(r)) {
            if (uri.transport == TransportProtocol::Tls) {
                net::TlsOptions tls;
                tls.serverName = uri.host;
                tls.caFile = options.turnCaFile;
                std::string err;
                if (!runtime.setTlsOptions(ep, tls, &err)) return "--turn-ca " + options.turnCaFile + ": " + err;
            }
            config.turnServers.push_back(
                ice::TurnServerConfig{ep, uri.transport, options.turnUser, options.turnPass, uri.toString()});
        }
    }
    return std::nullopt;
}

}  // namespace tincan::cli
