#include "core/net/interfaces.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <map>
#include <utility>

#include <spdlog/spdlog.h>

namespace tincan::net {
namespace {

// Linux IFA_F_* flags as printed in /proc/net/if_inet6.
constexpr unsigned kIfaDadFailed = 0x08;
constexpr unsigned kIfaDeprecated = 0x20;
constexpr unsigned kIfaTentative = 0x40;

using V6Key = std::pair<std::string, IpAddress>;  // (interface name, address)

// getifaddrs() does not say whether an IPv6 address is deprecated; /proc/net/if_inet6 does.
std::map<V6Key, unsigned> readInet6Flags() {
    std::map<V6Key, unsigned> flags;
    FILE* f = std::fopen("/proc/net/if_inet6", "re");
    if (!f) return flags;
    char hex[33], name[IF_NAMESIZE + 1];
    unsigned index = 0, prefix = 0, scope = 0, fl = 0;
    while (std::fscanf(f, "%32s %x %x %x %x %16s", hex, &index, &prefix, &scope, &fl, name) == 6) {
        if (std::strlen(hex) != 32) continue;
        uint8_t raw[16];
        bool ok = true;
        for (int i = 0; i < 16 && ok; ++i) {
            unsigned byte = 0;
            ok = std::sscanf(hex + 2 * i, "%2x", &byte) == 1;
            raw[i] = uint8_t(byte);
        }
        if (ok) flags[{name, IpAddress::v6(std::span<const uint8_t, 16>(raw, 16))}] = fl;
    }
    std::fclose(f);
    return flags;
}

int prefixLengthOf(const sockaddr* mask) {
    if (!mask) return 0;
    const uint8_t* bytes = nullptr;
    size_t n = 0;
    if (mask->sa_family == AF_INET) {
        bytes =
            reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(mask)->sin_addr);
        n = 4;
    } else if (mask->sa_family == AF_INET6) {
        bytes = reinterpret_cast<const uint8_t*>(
            &reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr);
        n = 16;
    }
    int bits = 0;
    for (size_t i = 0; i < n; ++i) bits += std::popcount(unsigned(bytes[i]));
    return bits;
}

bool isLoopbackEntry(const NetInterface& n) {
    return n.loopback || n.address.isLoopback();
}

}  // namespace

std::vector<NetInterface> listInterfaces() {
    std::vector<NetInterface> out;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) {
        spdlog::warn("net: getifaddrs failed: {}", std::strerror(errno));
        return out;
    }
    auto v6flags = readInet6Flags();
    for (ifaddrs* ifa = list; ifa; ifa = ifa->ifa_next) {
        if (!ifa->ifa_addr || !ifa->ifa_name) continue;
        int family = ifa->ifa_addr->sa_family;
        if (family != AF_INET && family != AF_INET6) continue;
        NetInterface n;
        n.name = ifa->ifa_name;
        n.index = if_nametoindex(ifa->ifa_name);
        // Not Endpoint::fromSockaddr: it would turn an IPv4-mapped address into IPv4, and the
        // policy wants to see (and drop) such oddities as they are.
        if (family == AF_INET) {
            auto* b = reinterpret_cast<const uint8_t*>(
                &reinterpret_cast<const sockaddr_in*>(ifa->ifa_addr)->sin_addr);
            n.address = IpAddress::v4(std::span<const uint8_t, 4>(b, 4));
        } else {
            auto* b = reinterpret_cast<const uint8_t*>(
                &reinterpret_cast<const sockaddr_in6*>(ifa->ifa_addr)->sin6_addr);
            n.address = IpAddress::v6(std::span<const uint8_t, 16>(b, 16));
            auto it = v6flags.find({n.name, n.address});
            if (it != v6flags.end()) {
                n.deprecated = (it->second & kIfaDeprecated) != 0;
                n.tentative = (it->second & (kIfaTentative | kIfaDadFailed)) != 0;
            }
        }
        n.prefixLength = prefixLengthOf(ifa->ifa_netmask);
        n.up = (ifa->ifa_flags & IFF_UP) && (ifa->ifa_flags & IFF_RUNNING);
        n.loopback = (ifa->ifa_flags & IFF_LOOPBACK) != 0;
        out.push_back(std::move(n));
    }
    freeifaddrs(list);
    return out;
}

std::vector<NetInterface> selectHostInterfaces(const std::vector<NetInterface>& all,
                                               const HostPolicy& p) {
    std::vector<const NetInterface*> usable;
    for (const auto& n : all) {
        const IpAddress& a = n.address;
        if (!n.up) continue;
        if (a.isV4() ? !p.ipv4 : !p.ipv6) continue;
        if (a.isUnspecified() || a.isMulticast() || a.isV4Mapped()) continue;
        if (n.deprecated || n.tentative) continue;
        if (!p.onlyInterfaces.empty() && std::find(p.onlyInterfaces.begin(), p.onlyInterfaces.end(),
                                                   n.name) == p.onlyInterfaces.end())
            continue;
        usable.push_back(&n);
    }

    auto pick = [&](auto&& keep) {
        std::vector<NetInterface> out;
        for (const NetInterface* n : usable) {
            if (!keep(*n)) continue;
            bool dup = std::any_of(out.begin(), out.end(),
                                   [&](const NetInterface& o) { return o.address == n->address; });
            if (!dup) out.push_back(*n);
        }
        return out;
    };

    auto selected = pick([&](const NetInterface& n) {
        if (isLoopbackEntry(n)) return p.includeLoopback;
        if (n.address.isLinkLocal()) return p.includeLinkLocal;
        return true;
    });
    if (!selected.empty()) return selected;
    selected =
        pick([](const NetInterface& n) { return !isLoopbackEntry(n) && n.address.isLinkLocal(); });
    if (!selected.empty()) return selected;
    return pick([](const NetInterface& n) { return isLoopbackEntry(n); });
}

}  // namespace tincan::net
