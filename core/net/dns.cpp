#include "core/net/dns.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace tincan::net {

Result<std::vector<IpAddress>> resolveHost(const std::string& host) {
    auto fail = [](std::string why) -> Result<std::vector<IpAddress>> {
        return Error{std::move(why)};
    };
    std::string_view name = host;
    if (name.size() >= 2 && name.front() == '[' && name.back() == ']')
        name = name.substr(1, name.size() - 2);
    if (name.empty()) return fail("empty host name");
    if (auto ip = IpAddress::parse(name)) return std::vector<IpAddress>{*ip};
    if (name.size() > 253 || name.find('\0') != std::string_view::npos)
        return fail("invalid host name");

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;  // one entry per address instead of one per socket type
    addrinfo* res = nullptr;
    std::string query(name);
    int rc = getaddrinfo(query.c_str(), nullptr, &hints, &res);
    if (rc != 0) {
        spdlog::debug("net: resolving {} failed: {}", query, gai_strerror(rc));
        return fail(gai_strerror(rc));
    }
    std::vector<IpAddress> out;
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
        if (!ai->ai_addr) continue;
        auto ep = Endpoint::fromSockaddr(ai->ai_addr);
        if (ep && std::find(out.begin(), out.end(), ep->ip) == out.end()) out.push_back(ep->ip);
    }
    freeaddrinfo(res);
    if (out.empty()) return fail("no addresses");
    return out;
}

}  // namespace tincan::net
