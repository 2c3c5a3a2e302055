#include "core/api/ice_servers.hpp"

#include "core/ice/server_uri.hpp"
#include "core/net/dns.hpp"

namespace tincan {

Result<IceServerUrl> parseIceServerUrl(const std::string& url) {
    auto parsed = ice::parseServerUri(url);
    if (!parsed) return Error{"bad ICE server URL '" + url + "': " + parsed.error().message};
    const auto& uri = *parsed;
    IceServerUrl out;
    out.scheme = IceServerUrl::Scheme(uint8_t(uri.scheme));
    out.host = uri.host;
    out.port = uri.port;
    out.transport = uri.transport == TransportProtocol::Tcp   ? IceServerUrl::Transport::Tcp
                    : uri.transport == TransportProtocol::Tls ? IceServerUrl::Transport::Tls
                                                              : IceServerUrl::Transport::Udp;
    out.text = uri.toString();
    return out;
}

Result<void> validateIceServer(const IceServer& server) {
    if (server.urls.empty()) return Error{"an ICE server needs at least one URL"};
    for (const auto& url : server.urls) {
        auto parsed = parseIceServerUrl(url);
        if (!parsed) return parsed.error();
        if (parsed->scheme == IceServerUrl::Scheme::Stuns)
            return Error{"'" + url + "': stuns: is not supported (use stun: or turns:)"};
        if (parsed->isTurn() && (server.username.empty() || server.credential.empty()))
            return Error{"'" + url + "': a TURN server needs a username and a credential"};
    }
    return {};
}

namespace api {

namespace {

// One address per family: the agent pairs candidates by family.
Result<std::vector<Endpoint>> resolve(const IceServerUrl& uri) {
    auto resolved = net::resolveHost(uri.host);
    if (!resolved) return Error{"cannot resolve " + uri.host + ": " + resolved.message()};
    const auto& ips = *resolved;
    std::vector<Endpoint> out;
    bool v4 = false, v6 = false;
    for (const auto& ip : ips) {
        if (ip.isV4() && !v4) out.push_back({ip, uri.port}), v4 = true;
        if (ip.isV6() && !v6) out.push_back({ip, uri.port}), v6 = true;
    }
    return out;
}

TransportProtocol toCore(IceServerUrl::Transport t) {
    switch (t) {
        case IceServerUrl::Transport::Udp:
            return TransportProtocol::Udp;
        case IceServerUrl::Transport::Tcp:
            return TransportProtocol::Tcp;
        case IceServerUrl::Transport::Tls:
            return TransportProtocol::Tls;
    }
    return TransportProtocol::Udp;
}

}  // namespace

Result<void> resolveIceServers(const std::vector<IceServer>& servers, const std::string& tlsCaFile,
                               ice::AgentConfig& config, net::Runtime& runtime) {
    for (const auto& server : servers) {
        if (auto ok = validateIceServer(server); !ok) return ok;
        for (const auto& url : server.urls) {
            auto uri = *parseIceServerUrl(url);
            auto endpoints = resolve(uri);
            if (!endpoints) return Error{uri.text + ": " + endpoints.error().message};
            for (const auto& ep : *endpoints) {
                if (!uri.isTurn()) {
                    config.stunServers.push_back(ice::StunServerConfig{ep, uri.text});
                    continue;
                }
                if (uri.transport == IceServerUrl::Transport::Tls) {
                    net::TlsOptions tls;
                    tls.serverName = uri.host;
                    tls.caFile = tlsCaFile;
                    if (auto set = runtime.setTlsOptions(ep, tls); !set)
                        return Error{"TLS trust anchor " + tlsCaFile + ": " + set.message()};
                }
                config.turnServers.push_back(ice::TurnServerConfig{
                    ep, toCore(uri.transport), server.username, server.credential, uri.text});
            }
        }
    }
    return {};
}

}  // namespace api
}  // namespace tincan
