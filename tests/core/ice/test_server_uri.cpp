// STUN and TURN server URIs (RFC 7064, RFC 7065): what users type in settings and on the command
// line, and the one-line reasons for what is refused.
#include <gtest/gtest.h>

#include "core/ice/server_uri.hpp"

using namespace tincan;
using namespace tincan::ice;

TEST(ServerUri, ParsesTheFourSchemesWithTheirDefaults) {
    auto stun = parseServerUri("stun:stun.example.org");
    ASSERT_TRUE(stun) << stun.message();
    EXPECT_EQ(stun->scheme, ServerUri::Scheme::Stun);
    EXPECT_EQ(stun->host, "stun.example.org");
    EXPECT_EQ(stun->port, 3478);
    EXPECT_EQ(stun->transport, TransportProtocol::Udp);

    auto turn = parseServerUri("turn:198.51.100.7:3479?transport=tcp");
    ASSERT_TRUE(turn) << turn.message();
    EXPECT_TRUE(turn->isTurn());
    EXPECT_EQ(turn->port, 3479);
    EXPECT_EQ(turn->transport, TransportProtocol::Tcp);
    EXPECT_EQ(turn->toString(), "turn:198.51.100.7:3479?transport=tcp");

    auto turns = parseServerUri("turns:[2001:db8::1]");
    ASSERT_TRUE(turns) << turns.message();
    EXPECT_EQ(turns->host, "2001:db8::1");
    EXPECT_EQ(turns->port, 5349);
    EXPECT_EQ(turns->transport, TransportProtocol::Tls);
    EXPECT_EQ(turns->toString(), "turns:[2001:db8::1]:5349");
}

TEST(ServerUri, RefusesWithAOneLineReason) {
    struct Case {
        const char* text;
        const char* reason;
    };
    for (const Case& c :
         {Case{"stun.example.org", "is not a stun:"},
          Case{"http:example.org", "unknown scheme 'http'"}, Case{"turn:", "missing host"},
          Case{"turn:example.org:99999", "invalid port '99999'"},
          Case{"turns:example.org?transport=udp", "turns: runs over TLS"},
          Case{"stun:example.org?transport=tcp", "only turn: URIs"},
          Case{"turn:[2001:db8::1", "unterminated IPv6 literal"}}) {
        auto r = parseServerUri(c.text);
        ASSERT_FALSE(r) << c.text;
        EXPECT_NE(r.message().find(c.reason), std::string::npos) << c.text << ": " << r.message();
    }
    // What the user typed is quoted, but never breaks the line (a log line, a settings label).
    auto r = parseServerUri("turn:example.org:12\n34");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.message().find('\n'), std::string::npos) << r.message();
    EXPECT_NE(r.message().find("'12?34'"), std::string::npos) << r.message();
}
