// Local network interfaces and the policy that picks which addresses become ICE host
// candidates. listInterfaces() asks the OS; selectHostInterfaces() is pure and unit-tested.
#pragma once

#include <string>
#include <vector>

#include "core/common/endpoint.hpp"

namespace tincan::net {

// One address of one interface (an interface with three addresses yields three entries).
struct NetInterface {
    std::string name;
    unsigned index = 0;
    IpAddress address;
    int prefixLength = 0;
    bool up = false;        // IFF_UP and IFF_RUNNING
    bool loopback = false;  // IFF_LOOPBACK
    // IPv6 only, from /proc/net/if_inet6: the preferred lifetime is over (deprecated), or
    // duplicate address detection has not finished or has failed (tentative).
    bool deprecated = false;
    bool tentative = false;
};

// All addresses of all interfaces (getifaddrs). Empty on error.
std::vector<NetInterface> listInterfaces();

struct HostPolicy {
    bool ipv4 = true;
    bool ipv6 = true;
    bool includeLoopback = false;
    bool includeLinkLocal = false;
    std::vector<std::string> onlyInterfaces;  // empty: any interface
};

// Addresses to gather host candidates on, in input order, without duplicates.
// Always skipped: down interfaces, unspecified, multicast and IPv4-mapped addresses, deprecated
// or tentative IPv6 addresses. By default loopback and link-local addresses are skipped too;
// but if that leaves nothing, link-local addresses are used, and failing those, loopback, so
// that two peers on an offline machine (or a namespace with only `lo`) can still connect.
std::vector<NetInterface> selectHostInterfaces(const std::vector<NetInterface>& all,
                                               const HostPolicy& policy = {});

}  // namespace tincan::net
