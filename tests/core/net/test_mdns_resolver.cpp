// MdnsResolver, the sans-IO one-shot querier, in virtual time: no sockets, no clock.
#include <gtest/gtest.h>

#include <vector>

#include "core/net/mdns.hpp"
#include "core/net/mdns_resolver.hpp"

using namespace tincan;
using namespace tincan::net;
using namespace std::chrono_literals;

namespace {

const Timestamp t0 = Timestamp{} + 1000s;
const char* kNameA = "1f4712db-ea17-4bcf-a596-105139dfd8bf.local";
const char* kNameB = "7b3ac2f4-0000-4000-8000-000000000000.local";

// A response (QR + AA) with one A record per address for `name`.
Bytes response(uint16_t id, std::string_view name, std::vector<const char*> addresses) {
    Bytes b;
    for (uint16_t v :
         {id, uint16_t(0x8400), uint16_t(0), uint16_t(addresses.size()), uint16_t(0), uint16_t(0)})
        appendU16(b, v);
    for (const char* ip : addresses) {
        std::string_view rest = name;
        while (!rest.empty()) {
            size_t dot = rest.find('.');
            std::string_view label = rest.substr(0, dot);
            b.push_back(uint8_t(label.size()));
            appendBytes(b, asBytes(label));
            rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
        }
        b.push_back(0);
        appendU16(b, 1);       // A
        appendU16(b, 0x8001);  // IN, cache-flush
        appendU32(b, 120);
        appendU16(b, 4);
        appendBytes(b, IpAddress::parse(ip)->bytes());
    }
    return b;
}

std::vector<MdnsResolver::Transmit> drain(MdnsResolver& r) {
    std::vector<MdnsResolver::Transmit> out;
    while (auto t = r.pollTransmit()) out.push_back(std::move(*t));
    return out;
}

uint16_t dnsIdOf(const MdnsResolver::Transmit& t) {
    return readU16(t.data.data());
}

}  // namespace

TEST(MdnsResolver, SendsToBothGroupsAndRetransmitsAtThirdsThenTimesOut) {
    Random random(7);
    MdnsResolver r(random);
    auto id = r.resolve(t0, kNameA, 1500ms);
    EXPECT_NE(id, 0u);

    auto first = drain(r);
    ASSERT_EQ(first.size(), 2u);
    EXPECT_EQ(first[0].to, MdnsResolver::groupV4());
    EXPECT_EQ(first[1].to, MdnsResolver::groupV6());
    EXPECT_EQ(first[0].to.toString(), "224.0.0.251:5353");
    EXPECT_EQ(first[0].data, buildMdnsQuery(kNameA, dnsIdOf(first[0])));
    EXPECT_EQ(first[1].data, first[0].data);
    EXPECT_EQ(first[0].query, id);

    // Retransmissions at 500 and 1000 ms, same bytes (same id); nothing in between.
    for (Duration at : {500ms, 1000ms}) {
        ASSERT_EQ(r.pollTimeout(), t0 + at);
        r.handleTimeout(t0 + at - 1ms);
        EXPECT_TRUE(drain(r).empty());
        r.handleTimeout(t0 + at);
        auto again = drain(r);
        ASSERT_EQ(again.size(), 2u);
        EXPECT_EQ(again[0].data, first[0].data);
    }
    ASSERT_EQ(r.pollTimeout(), t0 + 1500ms);
    r.handleTimeout(t0 + 1499ms);
    EXPECT_FALSE(r.pollResult());
    EXPECT_TRUE(r.pending(id));

    r.handleTimeout(t0 + 1500ms);
    EXPECT_TRUE(drain(r).empty());  // no retransmission at the very end
    auto result = r.pollResult();
    ASSERT_TRUE(result);
    EXPECT_EQ(result->query, id);
    EXPECT_FALSE(result->address);
    EXPECT_FALSE(r.pollResult());
    EXPECT_FALSE(r.pending(id));
    EXPECT_FALSE(r.pollTimeout());
    EXPECT_EQ(r.stats().queriesSent, 6u);
    EXPECT_EQ(r.stats().timedOut, 1u);
    EXPECT_EQ(r.stats().answered, 0u);
}

TEST(MdnsResolver, AStalledLoopSendsOneRoundPerWakeAndStillTimesOutOnTime) {
    Random random(7);
    MdnsResolver r(random);
    r.resolve(t0, kNameA, 300ms);
    drain(r);
    r.handleTimeout(t0 + 250ms);  // both retransmissions are due
    EXPECT_EQ(drain(r).size(), 2u);
    EXPECT_EQ(r.pollTimeout(), t0 + 200ms);  // overdue: run again at once
    r.handleTimeout(t0 + 250ms);
    EXPECT_EQ(drain(r).size(), 2u);
    EXPECT_EQ(r.pollTimeout(), t0 + 300ms);
    r.handleTimeout(t0 + 10s);
    EXPECT_TRUE(drain(r).empty());
    auto result = r.pollResult();
    ASSERT_TRUE(result);
    EXPECT_FALSE(result->address);
}

TEST(MdnsResolver, MatchesAnswersToTheirQueryByNameAndId) {
    Random random(11);
    MdnsResolver r(random);
    auto a = r.resolve(t0, kNameA, 1500ms);
    auto b = r.resolve(t0 + 10ms, kNameB, 1500ms);
    auto sent = drain(r);
    ASSERT_EQ(sent.size(), 4u);
    uint16_t idA = dnsIdOf(sent[0]), idB = dnsIdOf(sent[2]);
    ASSERT_EQ(sent[2].query, b);
    ASSERT_NE(idA, idB);  // seeded: the two draws differ
    EXPECT_EQ(r.pollTimeout(), t0 + 500ms);

    // B's answer arriving on A's socket answers nothing A asked.
    r.handleDatagram(t0 + 20ms, a, response(idA, kNameB, {"10.0.0.2"}));
    EXPECT_EQ(r.stats().unansweredDropped, 1u);
    // A's name with B's id: somebody else's question (RFC 6762 §18.1).
    r.handleDatagram(t0 + 20ms, a, response(idB, kNameA, {"10.0.0.1"}));
    EXPECT_EQ(r.stats().mismatchedDropped, 1u);
    EXPECT_FALSE(r.pollResult());
    EXPECT_TRUE(r.pending(a));

    // The right name and id; the first address wins.
    r.handleDatagram(t0 + 30ms, a, response(idA, kNameA, {"192.168.1.5", "192.168.1.6"}));
    auto ra = r.pollResult();
    ASSERT_TRUE(ra);
    EXPECT_EQ(ra->query, a);
    ASSERT_TRUE(ra->address);
    EXPECT_EQ(ra->address->toString(), "192.168.1.5");
    EXPECT_FALSE(r.pending(a));
    EXPECT_TRUE(r.pending(b));
    // Only B's deadlines remain.
    EXPECT_EQ(r.pollTimeout(), t0 + 10ms + 500ms);

    // Id 0, as in a multicast-style response, is accepted; the name is compared without case.
    r.handleDatagram(t0 + 40ms, b,
                     response(0, "7B3AC2F4-0000-4000-8000-000000000000.LOCAL", {"10.1.2.3"}));
    auto rb = r.pollResult();
    ASSERT_TRUE(rb);
    EXPECT_EQ(rb->query, b);
    ASSERT_TRUE(rb->address);
    EXPECT_EQ(rb->address->toString(), "10.1.2.3");

    // Late copies of the answer are stale now.
    r.handleDatagram(t0 + 50ms, a, response(idA, kNameA, {"192.168.1.5"}));
    EXPECT_EQ(r.stats().staleDropped, 1u);
    EXPECT_FALSE(r.pollResult());
    EXPECT_EQ(r.stats().answered, 2u);
    EXPECT_EQ(r.stats().timedOut, 0u);
    EXPECT_FALSE(r.pollTimeout());
}

TEST(MdnsResolver, MalformedAnswersAreDroppedAndCounted) {
    Random random(3);
    MdnsResolver r(random);
    auto id = r.resolve(t0, kNameA, 1500ms);
    uint16_t dnsId = dnsIdOf(drain(r).at(0));
    Bytes good = response(dnsId, kNameA, {"192.168.1.5"});

    r.handleDatagram(t0 + 1ms, id, Bytes{});
    r.handleDatagram(t0 + 1ms, id, Bytes{0x12, 0x34, 0x84});                 // short header
    r.handleDatagram(t0 + 1ms, id, ByteView(good.data(), good.size() - 3));  // truncated
    Bytes loop = good;
    loop[12] = 0xC0, loop[13] = 12;  // the answer's name points at itself
    r.handleDatagram(t0 + 1ms, id, loop);
    EXPECT_EQ(r.stats().malformedDropped, 4u);

    // Well-formed but useless: a query, an error response, a goodbye (TTL 0).
    r.handleDatagram(t0 + 2ms, id, buildMdnsQuery(kNameA, dnsId));
    Bytes error = good;
    error[3] |= 0x03;
    r.handleDatagram(t0 + 2ms, id, error);
    Bytes goodbye = good;
    std::fill(goodbye.end() - 10, goodbye.end() - 6, 0);  // the TTL
    r.handleDatagram(t0 + 2ms, id, goodbye);
    EXPECT_EQ(r.stats().unansweredDropped, 3u);
    EXPECT_EQ(r.stats().malformedDropped, 4u);
    EXPECT_FALSE(r.pollResult());
    EXPECT_TRUE(r.pending(id));

    // The query is still alive and takes the real answer.
    r.handleDatagram(t0 + 3ms, id, good);
    auto result = r.pollResult();
    ASSERT_TRUE(result);
    ASSERT_TRUE(result->address);
    EXPECT_EQ(result->address->toString(), "192.168.1.5");
}

TEST(MdnsResolver, InvalidNameFailsAtOnceWithoutADatagram) {
    Random random(1);
    MdnsResolver r(random);
    auto id = r.resolve(t0, "bad..local", 1500ms);
    EXPECT_TRUE(drain(r).empty());
    auto result = r.pollResult();
    ASSERT_TRUE(result);
    EXPECT_EQ(result->query, id);
    EXPECT_FALSE(result->address);
    EXPECT_FALSE(r.pending(id));
    EXPECT_FALSE(r.pollTimeout());
    EXPECT_EQ(r.stats().invalidNames, 1u);
}

TEST(MdnsResolver, UnreachableGroupsAreDroppedAndTheQueryFailsWhenNoneIsLeft) {
    Random random(5);
    MdnsResolver r(random);
    auto id = r.resolve(t0, kNameA, 1500ms);
    drain(r);
    r.handleSendFailed(t0, id, MdnsResolver::groupV6());
    EXPECT_FALSE(r.pollResult());
    r.handleTimeout(t0 + 500ms);
    auto again = drain(r);
    ASSERT_EQ(again.size(), 1u);  // IPv4 only from now on
    EXPECT_EQ(again[0].to, MdnsResolver::groupV4());

    r.handleSendFailed(t0 + 500ms, id, MdnsResolver::groupV4());
    auto result = r.pollResult();
    ASSERT_TRUE(result);  // at once, not at the timeout
    EXPECT_FALSE(result->address);
    EXPECT_FALSE(r.pollTimeout());
    EXPECT_EQ(r.stats().unsendable, 1u);
    EXPECT_EQ(r.stats().timedOut, 0u);
    // A failure report for a finished query changes nothing.
    r.handleSendFailed(t0 + 600ms, id, MdnsResolver::groupV4());
    EXPECT_FALSE(r.pollResult());
}
