#include <gtest/gtest.h>

#include "core/common/endpoint.hpp"
#include "core/common/random.hpp"

using namespace tincan;

TEST(Endpoint, ParsesAndFormatsV4AndV6) {
    auto a = Endpoint::parse("203.0.113.7:3478");
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->ip.isV4());
    EXPECT_EQ(a->port, 3478);
    EXPECT_EQ(a->toString(), "203.0.113.7:3478");

    auto b = Endpoint::parse("[2001:db8::1]:5349");
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->ip.isV6());
    EXPECT_EQ(b->toString(), "[2001:db8::1]:5349");
}

TEST(Endpoint, RejectsMalformed) {
    for (const char* bad : {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:70000", "[::1]5", "::1:5",
                            "host:80", "1.2.3.4:8x", "[::1"})
        EXPECT_FALSE(Endpoint::parse(bad)) << bad;
}

TEST(IpAddress, Classifies) {
    EXPECT_TRUE(IpAddress::parse("127.0.0.1")->isLoopback());
    EXPECT_TRUE(IpAddress::parse("::1")->isLoopback());
    EXPECT_TRUE(IpAddress::parse("fe80::1%eth0")->isLinkLocal());
    EXPECT_TRUE(IpAddress::parse("169.254.3.4")->isLinkLocal());
    EXPECT_TRUE(IpAddress::parse("192.168.1.1")->isPrivate());
    EXPECT_TRUE(IpAddress::parse("100.64.0.1")->isPrivate());
    EXPECT_FALSE(IpAddress::parse("203.0.113.1")->isPrivate());
    EXPECT_TRUE(IpAddress::parse("::ffff:1.2.3.4")->isV4Mapped());
}

TEST(Random, SeededIsDeterministicAndIceCharsAreValid) {
    Random a(42), b(42);
    EXPECT_EQ(a.next64(), b.next64());
    std::string s = a.iceChars(24);
    EXPECT_EQ(s.size(), 24u);
    for (char c : s)
        EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/');
}
