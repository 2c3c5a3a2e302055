// RTCP: every packet type through serialize → parse, compound and reduced-size packets, the
// transport-wide feedback chunk encodings, NACK pair packing, and malformed input dropped
// with a reason while the rest of the compound survives.
#include <gtest/gtest.h>

#include <random>

#include "core/rtp/rtcp.hpp"

using namespace tincan;
using namespace tincan::rtp;

namespace {

template <typename T>
T roundTrip(const T& packet) {
    Bytes wire = serializeRtcp(RtcpPacket(packet));
    EXPECT_FALSE(wire.empty());
    EXPECT_EQ(wire.size() % 4, 0u);
    RtcpCompound c = parseRtcp(wire);
    EXPECT_TRUE(c.dropped.empty()) << (c.dropped.empty() ? "" : c.dropped[0]);
    EXPECT_EQ(c.packets.size(), 1u);
    if (c.packets.size() != 1 || !std::holds_alternative<T>(c.packets[0])) return {};
    return std::get<T>(c.packets[0]);
}

ReportBlock block(uint32_t ssrc) {
    return {ssrc, 25, -3, 0x0001FFFF, 123, 0xAABBCCDD, 65536};
}

}  // namespace

TEST(Rtcp, SenderAndReceiverReports) {
    SenderReport sr{0x1234, 0xE1234567'89ABCDEF, 90000, 10, 12000, {block(1), block(2)}};
    EXPECT_EQ(roundTrip(sr), sr);
    ReceiverReport rr{0x5678, {block(3)}};
    EXPECT_EQ(roundTrip(rr), rr);
    ReceiverReport empty{0x5678, {}};
    EXPECT_EQ(roundTrip(empty), empty);
    ReceiverReport tooMany{1, std::vector<ReportBlock>(32, block(1))};
    EXPECT_TRUE(serializeRtcp(RtcpPacket(tooMany)).empty());
}

TEST(Rtcp, CumulativeLostIsTwentyFourBitSigned) {
    ReceiverReport rr{1, {block(3)}};
    rr.reports[0].cumulativeLost = 0x7FFFFF + 10;  // clamped on write
    EXPECT_EQ(roundTrip(rr).reports[0].cumulativeLost, 0x7FFFFF);
    rr.reports[0].cumulativeLost = -5;
    EXPECT_EQ(roundTrip(rr).reports[0].cumulativeLost, -5);
}

TEST(Rtcp, SdesByeAndFeedback) {
    Sdes sdes{{{1, "abc"}, {2, "a-cname-of-exactly-20"}, {3, ""}}};
    EXPECT_EQ(roundTrip(sdes), sdes);
    Bye bye{{1, 2}, "going away"};
    EXPECT_EQ(roundTrip(bye), bye);
    Bye plain{{9}, ""};
    EXPECT_EQ(roundTrip(plain), plain);
    Pli pli{1, 2};
    EXPECT_EQ(roundTrip(pli), pli);
    Fir fir{1, {{2, 7}, {3, 255}}};
    EXPECT_EQ(roundTrip(fir), fir);
    Nack nack{1, 2, {65530, 65531, 65535, 3, 100}};
    EXPECT_EQ(roundTrip(nack), nack);
}

TEST(Rtcp, RembMantissaAndExponent) {
    Remb remb{1, 1'500'000, {0x11, 0x22}};
    Remb back = roundTrip(remb);
    // 1.5 Mbit/s needs exponent 3: the mantissa keeps 18 bits, so 1'500'000 >> 3 << 3.
    EXPECT_EQ(back.bitrateBps, 1'500'000u);
    EXPECT_EQ(back.ssrcs, remb.ssrcs);
    remb.bitrateBps = 1'000'001;
    EXPECT_EQ(roundTrip(remb).bitrateBps, (1'000'001u >> 2) << 2);
    // A hand-made REMB from draft-alvestrand §2.2: exp 2, mantissa 0x3FFFF → 1048572 bps.
    Bytes wire{0x8F, 206, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 'R', 'E', 'M', 'B', 0, 0x0B, 0xFF, 0xFF};
    auto c = parseRtcp(wire);
    ASSERT_EQ(c.packets.size(), 1u);
    EXPECT_EQ(std::get<Remb>(c.packets[0]).bitrateBps, 0x3FFFFu << 2);
}

TEST(Rtcp, NackPairsPackSixteenFollowingSeqs) {
    std::vector<uint16_t> seqs{10, 11, 26, 27, 65535, 0};
    auto pairs = nackPairsFromSeqs(seqs);
    ASSERT_EQ(pairs.size(), 3u);
    EXPECT_EQ(pairs[0], (NackPair{10, 0x8001}));  // 11 (bit 0) and 26 (bit 15)
    EXPECT_EQ(pairs[1], (NackPair{27, 0}));
    EXPECT_EQ(pairs[2], (NackPair{65535, 1}));  // 0 wraps into the bitmask
    EXPECT_EQ(seqsFromNackPairs(pairs), seqs);
}

TEST(Rtcp, TransportFeedbackUsesEachChunkKind) {
    TransportFeedback fb;
    fb.senderSsrc = 1;
    fb.mediaSsrc = 2;
    fb.baseSequenceNumber = 65530;
    fb.referenceTime = -2;  // negative 24-bit reference time
    fb.feedbackCount = 9;
    // 20 received small (run-length), a mix of lost/small (1-bit vector), a large and a
    // negative delta (2-bit vector), then 30 lost (run-length).
    for (int i = 0; i < 20; ++i) fb.packets.push_back({true, 4});
    for (int i = 0; i < 14; ++i) fb.packets.push_back({i % 3 != 0, i % 3 != 0 ? 255 : 0});
    fb.packets.push_back({true, 1000});
    fb.packets.push_back({true, -8});
    fb.packets.push_back({false, 0});
    for (int i = 0; i < 30; ++i) fb.packets.push_back({false, 0});
    fb.packets.push_back({true, 32767});
    Bytes wire = serializeRtcp(RtcpPacket(fb));
    // Chunks: RLE(20), 1-bit(14), 2-bit(7: 2,2,0,0,0,0,0), RLE(26), 2-bit(1 + padding).
    EXPECT_EQ(readU16(wire.data() + 20), 0x2000 | 20);
    EXPECT_EQ(readU16(wire.data() + 22) & 0xC000, 0x8000);
    EXPECT_EQ(readU16(wire.data() + 24) & 0xC000, 0xC000);
    EXPECT_EQ(roundTrip(fb), fb);
    auto arrivals = fb.arrivalTimesUs();
    EXPECT_EQ(arrivals[0], -2 * 64000 + 1000);
    EXPECT_EQ(arrivals[1], -2 * 64000 + 2000);
    EXPECT_FALSE(arrivals[20].has_value());
}

TEST(Rtcp, TransportFeedbackRandomRoundTrips) {
    std::mt19937 rng(7);
    for (int round = 0; round < 200; ++round) {
        TransportFeedback fb;
        fb.baseSequenceNumber = uint16_t(rng());
        fb.referenceTime = int32_t(rng() % 0x1000000) - 0x800000;
        size_t n = 1 + rng() % 300;
        for (size_t i = 0; i < n; ++i) {
            bool rec = rng() % 4 != 0;
            int32_t d = rng() % 10 == 0 ? int32_t(rng() % 65536) - 32768 : int32_t(rng() % 256);
            fb.packets.push_back({rec, rec ? d : 0});
        }
        ASSERT_EQ(roundTrip(fb), fb) << "round " << round;
    }
    TransportFeedback tooLarge;
    tooLarge.packets.push_back({true, 40000});
    EXPECT_TRUE(serializeRtcp(RtcpPacket(tooLarge)).empty());
    EXPECT_TRUE(serializeRtcp(RtcpPacket(TransportFeedback{})).empty());
}

TEST(Rtcp, CompoundAndReducedSize) {
    std::vector<RtcpPacket> packets{ReceiverReport{1, {block(2)}}, Sdes{{{1, "me"}}},
                                    Nack{1, 2, {5, 6}}, Pli{1, 2}};
    Bytes wire = serializeRtcp(packets);
    auto c = parseRtcp(wire);
    EXPECT_TRUE(c.dropped.empty());
    EXPECT_EQ(c.packets, packets);
    // RFC 5506: a PLI alone is accepted.
    auto lone = parseRtcp(serializeRtcp(RtcpPacket(Pli{3, 4})));
    ASSERT_EQ(lone.packets.size(), 1u);
    EXPECT_EQ(std::get<Pli>(lone.packets[0]), (Pli{3, 4}));
}

TEST(Rtcp, UnknownTypesAreSkippedAndCounted) {
    Bytes app{0x80, kRtcpApp, 0, 2, 0, 0, 0, 1, 'n', 'a', 'm', 'e'};
    Bytes xr{0x80, 207, 0, 1, 0, 0, 0, 1};
    Bytes otherFmt{0x83, kRtcpRtpfb, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2};  // TMMBR
    Bytes wire = app;
    appendBytes(wire, xr);
    appendBytes(wire, otherFmt);
    appendBytes(wire, serializeRtcp(RtcpPacket(Pli{1, 2})));
    auto c = parseRtcp(wire);
    EXPECT_EQ(c.unknown, 3u);
    EXPECT_TRUE(c.dropped.empty());
    EXPECT_EQ(c.packets.size(), 1u);
}

TEST(Rtcp, MalformedSubPacketsAreDroppedWithAReason) {
    Bytes pli = serializeRtcp(RtcpPacket(Pli{1, 2}));
    auto reasons = [](const Bytes& b) { return parseRtcp(b).dropped; };

    // An RR that claims a report block it does not carry; the PLI after it still parses.
    Bytes rr{0x81, kRtcpRr, 0, 1, 0, 0, 0, 1};
    Bytes wire = rr;
    appendBytes(wire, pli);
    auto c = parseRtcp(wire);
    ASSERT_EQ(c.dropped.size(), 1u);
    EXPECT_EQ(c.dropped[0], "RR shorter than its RC");
    EXPECT_EQ(c.packets.size(), 1u);

    EXPECT_EQ(reasons(Bytes{0x80, 200}), std::vector<std::string>{"RTCP header cut short"});
    EXPECT_EQ(reasons(Bytes{0x40, 200, 0, 0}), std::vector<std::string>{"RTCP version is not 2"});
    EXPECT_EQ(reasons(Bytes{0x80, 201, 0, 5, 0, 0, 0, 1}),
              std::vector<std::string>{"RTCP length runs past the packet"});
    EXPECT_EQ(reasons(Bytes{0xA0, 201, 0, 2, 0, 0, 0, 1, 0, 0, 0, 9}),
              std::vector<std::string>{"RTCP padding count is invalid"});
    EXPECT_EQ(reasons(Bytes{0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2}),
              std::vector<std::string>{"NACK FCI is not a whole number of pairs"});
    EXPECT_EQ(reasons(Bytes{0x84, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2}),
              std::vector<std::string>{"FIR FCI is not a whole number of entries"});
    EXPECT_EQ(reasons(Bytes{0x81, 202, 0, 2, 0, 0, 0, 1, 1, 9, 'a', 'b'}),
              std::vector<std::string>{"SDES item runs past the packet"});
    EXPECT_EQ(reasons(Bytes{0x81, 202, 0, 2, 0, 0, 0, 1, 1, 2, 'a', 'b'}),
              std::vector<std::string>{"SDES item list not terminated"});
    EXPECT_EQ(reasons(Bytes{0x81, 203, 0, 2, 0, 0, 0, 1, 9, 'a', 'b', 'c'}),
              std::vector<std::string>{"BYE reason runs past the packet"});
    // Feedback: zero statuses, a reserved symbol, deltas missing.
    Bytes twcc{0x8F, 205, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0};
    EXPECT_EQ(reasons(twcc), std::vector<std::string>{"transport feedback with no packet status"});
    Bytes reserved{0x8F, 205, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 1, 0, 0};
    EXPECT_EQ(reasons(reserved),
              std::vector<std::string>{"transport feedback reserved status symbol"});
    Bytes noDelta{0x8F, 205, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0x20, 3, 1, 2};
    EXPECT_EQ(reasons(noDelta),
              std::vector<std::string>{"transport feedback deltas run past the packet"});
}

TEST(Rtcp, NtpFromUnixTime) {
    // 1970-01-01T00:00:00.5Z is 2208988800.5 s after the NTP epoch.
    EXPECT_EQ(ntpFromUnixUs(500'000), (2208988800ull << 32) | 0x80000000ull);
    EXPECT_EQ(compactNtp(ntpFromUnixUs(500'000)),
              uint32_t((2208988800ull & 0xFFFF) << 16 | 0x8000));
}
