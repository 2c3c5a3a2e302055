#include <gtest/gtest.h>

#include "core/ice/agent.hpp"
#include "core/ice/candidate.hpp"

using namespace tincan;
using namespace tincan::ice;

TEST(Candidate, PriorityFormula) {
    // RFC 8445 §5.1.2.1 with the recommended type preferences.
    EXPECT_EQ(candidatePriority(CandidateType::Host, 65535), (126u << 24) | (65535u << 8) | 255u);
    EXPECT_EQ(candidatePriority(CandidateType::Relayed, 0), 255u);
    EXPECT_GT(candidatePriority(CandidateType::Host, 0),
              candidatePriority(CandidateType::PeerReflexive, 65535));
    EXPECT_GT(candidatePriority(CandidateType::PeerReflexive, 0),
              candidatePriority(CandidateType::ServerReflexive, 65535));
    EXPECT_GT(candidatePriority(CandidateType::ServerReflexive, 0),
              candidatePriority(CandidateType::Relayed, 65535));
}

TEST(Candidate, PairPriorityFormula) {
    // RFC 8445 §6.1.2.3: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0).
    EXPECT_EQ(pairPriority(10, 20), (uint64_t(10) << 32) + 40);
    EXPECT_EQ(pairPriority(20, 10), (uint64_t(10) << 32) + 40 + 1);
    // Symmetric in value for both agents except the tie bit.
    EXPECT_EQ(pairPriority(7, 7), (uint64_t(7) << 32) + 14);
}

TEST(Candidate, ParsesBrowserCandidates) {
    auto r = parseCandidate(
        "candidate:842163049 1 udp 1677729535 203.0.113.5 46154 typ srflx raddr 192.0.2.10 rport "
        "46154 "
        "generation 0 ufrag EsAw network-cost 999");
    ASSERT_TRUE(r.ok());
    auto c = r.value();
    EXPECT_EQ(c.foundation, "842163049");
    EXPECT_EQ(c.component, 1);
    EXPECT_EQ(c.priority, 1677729535u);
    EXPECT_EQ(c.address.toString(), "203.0.113.5:46154");
    EXPECT_EQ(c.type, CandidateType::ServerReflexive);
    ASSERT_TRUE(c.related);
    EXPECT_EQ(c.related->toString(), "192.0.2.10:46154");

    auto m = parseCandidate(
        "a=candidate:1 1 UDP 2122260223 3b9e5cd0-1a2b-4c3d-8e9f-0a1b2c3d4e5f.local 56001 typ host");
    ASSERT_TRUE(m.ok());
    EXPECT_TRUE(m.value().isMdns());
    EXPECT_EQ(m.value().address.port, 56001);

    auto v6 = parseCandidate("candidate:2 1 udp 2122262783 2001:db8::5 9 typ host");
    ASSERT_TRUE(v6.ok());
    EXPECT_TRUE(v6.value().address.ip.isV6());

    auto tcp = parseCandidate("candidate:3 1 tcp 1518280447 192.0.2.4 9 typ host tcptype active");
    ASSERT_TRUE(tcp.ok());
    EXPECT_EQ(tcp.value().transport, TransportProtocol::Tcp);
}

TEST(Candidate, RoundTripsThroughSdp) {
    Candidate c;
    c.foundation = "abc";
    c.priority = 12345;
    c.address = *Endpoint::parse("198.51.100.1:3478");
    c.type = CandidateType::Relayed;
    c.related = *Endpoint::parse("203.0.113.9:50000");
    auto back = parseCandidate(c.toSdp());
    ASSERT_TRUE(back.ok()) << c.toSdp();
    const auto& b = back.value();
    EXPECT_EQ(b.foundation, c.foundation);
    EXPECT_EQ(b.priority, c.priority);
    EXPECT_EQ(b.address, c.address);
    EXPECT_EQ(b.type, c.type);
    EXPECT_EQ(b.related, c.related);
}

TEST(Candidate, UnknownTcpTypeIsIgnored) {
    auto r = parseCandidate("candidate:1 1 tcp 100 1.2.3.4 9 typ host tcptype bogus");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().tcpType, "");
    r = parseCandidate("candidate:1 1 tcp 100 1.2.3.4 9 typ host tcptype so");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().tcpType, "so");
}

TEST(Candidate, RejectsMalformedWithReason) {
    struct Case {
        const char* text;
        const char* why;
    } cases[] = {
        {"candidate:1 1 udp 100 1.2.3.4 5", "at least 8 fields"},
        {"candidate:1 0 udp 100 1.2.3.4 5 typ host", "component"},
        {"candidate:1 1 sctp 100 1.2.3.4 5 typ host", "transport"},
        {"candidate:1 1 udp x 1.2.3.4 5 typ host", "priority"},
        {"candidate:1 1 udp 100 1.2.3.4 70000 typ host", "port"},
        {"candidate:1 1 udp 100 not-an-ip 5 typ host", "address"},
        {"candidate:1 1 udp 100 1.2.3.4 5 type host", "typ"},
        {"candidate:1 1 udp 100 1.2.3.4 5 typ bogus", "type"},
        {"candidate:f@o 1 udp 100 1.2.3.4 5 typ host", "foundation"},
        // Found by fuzz_candidate: a tcptype holding line breaks came back as another line.
        {"candidate:1 1 tcp 100 1.2.3.4 9 typ host tcptype \n\na=x \r\n", "CR or LF"},
        {"candidate:1 1 tcp 100 1.2.3.4 9 typ host tcptype act\nive", "CR or LF"},
    };
    for (const auto& c : cases) {
        auto r = parseCandidate(c.text);
        ASSERT_FALSE(r.ok()) << c.text;
        EXPECT_NE(r.error().message.find(c.why), std::string::npos)
            << c.text << " -> " << r.error().message;
    }
}

TEST(PathType, Classification) {
    Candidate host, srflx, prflx, relay;
    host.type = CandidateType::Host;
    host.base = host.address = *Endpoint::parse("192.0.2.10:1000");
    srflx.type = CandidateType::ServerReflexive;
    prflx.type = CandidateType::PeerReflexive;
    prflx.address = *Endpoint::parse("203.0.113.20:2000");
    relay.type = CandidateType::Relayed;
    EXPECT_EQ(classifyPath(host, host), PathType::Lan);
    EXPECT_EQ(classifyPath(host, srflx), PathType::Direct);
    EXPECT_EQ(classifyPath(host, prflx), PathType::Direct);
    EXPECT_EQ(classifyPath(relay, host), PathType::Relay);
    EXPECT_EQ(classifyPath(host, relay), PathType::Relay);
    // A public peer-reflexive address in the same /24 is still a NAT path.
    prflx.address = *Endpoint::parse("203.0.113.21:2000");
    host.base = host.address = *Endpoint::parse("203.0.113.20:1000");
    EXPECT_EQ(classifyPath(host, prflx), PathType::Direct);
    // A browser on the same private subnet hiding its host candidate behind mDNS.
    host.base = host.address = *Endpoint::parse("192.168.1.10:1000");
    prflx.address = *Endpoint::parse("192.168.1.11:2000");
    EXPECT_EQ(classifyPath(host, prflx), PathType::Lan);
    prflx.address = *Endpoint::parse("192.168.7.11:2000");
    EXPECT_EQ(classifyPath(host, prflx), PathType::Direct);
}
