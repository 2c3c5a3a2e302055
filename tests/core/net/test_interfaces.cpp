// Host interface policy (pure, synthetic lists), interface listing and resolveHost smoke tests.
#include <gtest/gtest.h>

#include "core/net/dns.hpp"
#include "core/net/interfaces.hpp"

using namespace tincan;
using namespace tincan::net;

namespace {

NetInterface iface(const std::string& name, const char* ip, bool loopback = false, bool up = true) {
    NetInterface n;
    n.name = name;
    n.index = unsigned(name.size());
    n.address = *IpAddress::parse(ip);
    n.prefixLength = n.address.isV4() ? 24 : 64;
    n.up = up;
    n.loopback = loopback;
    return n;
}

std::vector<std::string> addressesOf(const std::vector<NetInterface>& list) {
    std::vector<std::string> out;
    for (const auto& n : list) out.push_back(n.address.toString());
    return out;
}

using Strings = std::vector<std::string>;

const std::vector<NetInterface> kLaptop = {
    iface("lo", "127.0.0.1", true), iface("lo", "::1", true),
    iface("wlan0", "192.168.1.20"), iface("wlan0", "2001:db8::20"),
    iface("wlan0", "fe80::1234"),   iface("docker0", "172.17.0.1", false, false),  // down
    iface("eth0", "169.254.10.10"),
};

}  // namespace

TEST(HostPolicy, DefaultTakesUpGlobalAddressesOfBothFamilies) {
    EXPECT_EQ(addressesOf(selectHostInterfaces(kLaptop)),
              (Strings{"192.168.1.20", "2001:db8::20"}));
}

TEST(HostPolicy, FamiliesCanBeTurnedOff) {
    HostPolicy p;
    p.ipv6 = false;
    EXPECT_EQ(addressesOf(selectHostInterfaces(kLaptop, p)), (Strings{"192.168.1.20"}));
    p.ipv6 = true;
    p.ipv4 = false;
    EXPECT_EQ(addressesOf(selectHostInterfaces(kLaptop, p)), (Strings{"2001:db8::20"}));
}

TEST(HostPolicy, LoopbackAndLinkLocalOnRequest) {
    HostPolicy p;
    p.includeLoopback = true;
    p.includeLinkLocal = true;
    EXPECT_EQ(addressesOf(selectHostInterfaces(kLaptop, p)),
              (Strings{"127.0.0.1", "::1", "192.168.1.20", "2001:db8::20", "fe80::1234",
                       "169.254.10.10"}));
}

TEST(HostPolicy, OnlyInterfaces) {
    HostPolicy p;
    p.onlyInterfaces = {"wlan0"};
    EXPECT_EQ(addressesOf(selectHostInterfaces(kLaptop, p)),
              (Strings{"192.168.1.20", "2001:db8::20"}));
    p.onlyInterfaces = {"eth0"};  // only link-local there: the fallback applies within it
    EXPECT_EQ(addressesOf(selectHostInterfaces(kLaptop, p)), (Strings{"169.254.10.10"}));
    p.onlyInterfaces = {"nope"};
    EXPECT_TRUE(selectHostInterfaces(kLaptop, p).empty());
}

TEST(HostPolicy, SkipsUnusableAddresses) {
    std::vector<NetInterface> list = {
        iface("eth0", "0.0.0.0"),         iface("eth0", "::"),
        iface("eth0", "224.0.0.251"),     iface("eth0", "ff02::fb"),
        iface("eth0", "::ffff:10.0.0.1"), iface("eth0", "10.0.0.1", false, false),
        iface("eth0", "2001:db8::dead"),  iface("eth0", "2001:db8::beef"),
        iface("eth0", "10.0.0.2"),        iface("eth1", "10.0.0.2"),  // same address twice
    };
    list[6].deprecated = true;
    list[7].tentative = true;
    EXPECT_EQ(addressesOf(selectHostInterfaces(list)), (Strings{"10.0.0.2"}));
}

TEST(HostPolicy, FallsBackToLinkLocalThenLoopback) {
    std::vector<NetInterface> offline = {iface("lo", "127.0.0.1", true), iface("lo", "::1", true),
                                         iface("eth0", "fe80::1"), iface("eth0", "169.254.1.1")};
    EXPECT_EQ(addressesOf(selectHostInterfaces(offline)), (Strings{"fe80::1", "169.254.1.1"}));

    // A sealed namespace with only `lo`: two local peers must still find each other.
    std::vector<NetInterface> sealed = {iface("lo", "127.0.0.1", true), iface("lo", "::1", true),
                                        iface("eth0", "10.1.1.1", false, /*up=*/false)};
    EXPECT_EQ(addressesOf(selectHostInterfaces(sealed)), (Strings{"127.0.0.1", "::1"}));
    HostPolicy v4only;
    v4only.ipv6 = false;
    EXPECT_EQ(addressesOf(selectHostInterfaces(sealed, v4only)), (Strings{"127.0.0.1"}));

    EXPECT_TRUE(selectHostInterfaces({}).empty());
    EXPECT_TRUE(selectHostInterfaces({iface("lo", "127.0.0.1", true, false)}).empty());
}

TEST(Interfaces, ListsTheLoopbackInterface) {
    auto all = listInterfaces();
    auto it = std::find_if(all.begin(), all.end(), [](const NetInterface& n) {
        return n.address == IpAddress::v4(127, 0, 0, 1);
    });
    ASSERT_NE(it, all.end());
    EXPECT_TRUE(it->loopback);
    EXPECT_GT(it->index, 0u);
    EXPECT_EQ(it->prefixLength, 8);
    // Whatever the machine has, the policy picks something when lo is up.
    if (it->up) {
        EXPECT_FALSE(selectHostInterfaces(all).empty());
    }
}

TEST(Dns, IpLiteralsShortCircuit) {
    EXPECT_EQ(*resolveHost("192.0.2.7"), std::vector{IpAddress::v4(192, 0, 2, 7)});
    EXPECT_EQ(*resolveHost("2001:db8::1"), std::vector{*IpAddress::parse("2001:db8::1")});
    EXPECT_EQ(*resolveHost("[2001:db8::1]"), std::vector{*IpAddress::parse("2001:db8::1")});
}

TEST(Dns, ResolvesLocalhostAndReportsErrors) {
    auto local = resolveHost("localhost");
    ASSERT_TRUE(local) << local.message();
    ASSERT_FALSE(local->empty());
    for (const auto& ip : *local) EXPECT_TRUE(ip.isLoopback()) << ip.toString();
    auto empty = resolveHost("");
    EXPECT_FALSE(empty);
    EXPECT_FALSE(empty.message().empty());
    auto tooLong = resolveHost(std::string(300, 'a'));
    EXPECT_FALSE(tooLong);
    EXPECT_FALSE(tooLong.message().empty());
}
