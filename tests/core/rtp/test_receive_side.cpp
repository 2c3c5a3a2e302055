// Receive-side machines in virtual time: RFC 3550 §A.1/§A.3/§A.8 statistics, RTT from
// LSR/DLSR, the NACK generator's timing and give-up, the TWCC feedback generator and the
// send-side packet history.
#include <gtest/gtest.h>

#include <random>

#include "core/rtp/nack_generator.hpp"
#include "core/rtp/packet_history.hpp"
#include "core/rtp/receive_statistics.hpp"
#include "core/rtp/send_statistics.hpp"
#include "core/rtp/twcc_generator.hpp"

using namespace tincan;
using namespace tincan::rtp;

namespace {
const Timestamp t0 = Timestamp{} + 1000s;
}

TEST(ReceiveStatistics, CountsLossAcrossTheWrapAndReportsFractions) {
    ReceiveStatistics rs(0x42, {90000, 1});
    // 65530..65535, 0..9 with 3 and 7 missing: 16 expected, 14 received.
    uint16_t seq = 65530;
    for (int i = 0; i < 16; ++i, ++seq) {
        if (seq == 3 || seq == 7) continue;
        EXPECT_TRUE(rs.onPacket(t0 + i * 10ms, seq, 900u * i));
    }
    EXPECT_EQ(rs.extendedHighestSeq(), 65536u + 9);
    EXPECT_EQ(rs.expected(), 16);
    EXPECT_EQ(rs.cumulativeLost(), 2);
    ReportBlock b = rs.makeReportBlock(t0 + 1s);
    EXPECT_EQ(b.ssrc, 0x42u);
    EXPECT_EQ(b.cumulativeLost, 2);
    EXPECT_EQ(b.fractionLost, 2 * 256 / 16);
    EXPECT_EQ(b.extendedHighestSeq, 65536u + 9);
    // Next interval: 4 more, none lost → fraction 0, cumulative unchanged.
    for (int i = 0; i < 4; ++i, ++seq) rs.onPacket(t0 + 2s, seq, 0);
    b = rs.makeReportBlock(t0 + 2s);
    EXPECT_EQ(b.fractionLost, 0);
    EXPECT_EQ(b.cumulativeLost, 2);
    // A duplicate makes cumulative loss go down (RFC 3550 §6.4.1 allows negative).
    rs.onPacket(t0 + 2s, uint16_t(seq - 1), 0);
    EXPECT_EQ(rs.cumulativeLost(), 1);
}

TEST(ReceiveStatistics, ProbationAndSenderRestart) {
    ReceiveStatistics rfc(1, {8000, 2});  // the RFC's MIN_SEQUENTIAL = 2
    EXPECT_FALSE(rfc.onPacket(t0, 100, 0));
    EXPECT_FALSE(rfc.valid());
    EXPECT_TRUE(rfc.onPacket(t0, 101, 160));
    EXPECT_TRUE(rfc.valid());
    EXPECT_EQ(rfc.packetsReceived(), 1u);
    EXPECT_EQ(rfc.packetsIgnored(), 1u);
    // A jump of 20000: ignored once, accepted (and the source re-synced) on its successor.
    EXPECT_FALSE(rfc.onPacket(t0, 20101, 0));
    EXPECT_TRUE(rfc.onPacket(t0, 20102, 0));
    EXPECT_EQ(rfc.expected(), 1);
    EXPECT_EQ(rfc.cumulativeLost(), 0);
    EXPECT_EQ(rfc.packetsIgnored(), 2u);
}

TEST(ReceiveStatistics, JitterFollowsAppendixA8) {
    // 8 kHz audio, 20 ms packets (160 units); arrivals alternate +0 / +5 ms late.
    ReceiveStatistics rs(1, {8000, 1});
    double j = 0;  // the RFC's floating-point form, as an independent oracle
    int64_t prevTransit = 0;
    for (int i = 0; i < 200; ++i) {
        Duration late = (i % 2) ? 5ms : 0ms;
        Timestamp arrival = t0 + i * 20ms + late;
        rs.onPacket(arrival, uint16_t(i), 160u * i);
        int64_t transit = (i * 160 + ((i % 2) ? 40 : 0)) - i * 160;
        if (i > 0) j += (std::abs(double(transit - prevTransit)) - j) / 16;
        prevTransit = transit;
    }
    EXPECT_NEAR(rs.jitterRtpUnits(), j, 1.0);
    EXPECT_GT(rs.jitterRtpUnits(), 30u);  // 40 units per step: converges near 40
    // Retransmissions do not move it.
    uint32_t before = rs.jitterRtpUnits();
    rs.onPacket(t0 + 10s, 200, 0, /*retransmitted=*/true);
    EXPECT_EQ(rs.jitterRtpUnits(), before);
}

TEST(ReceiveStatistics, LsrDlsrGiveTheRtt) {
    // Sender writes an SR at t0; it reaches the receiver 40 ms later; the receiver answers
    // 300 ms after that; the answer takes 60 ms back. RTT = 100 ms.
    const uint64_t ntp = ntpFromUnixUs(1'700'000'000'000'000);
    RttEstimator rtt;
    rtt.onSenderReportSent(t0, ntp);
    ReceiveStatistics rs(7, {90000, 1});
    rs.onPacket(t0, 1, 0);
    rs.onSenderReport(t0 + 40ms, ntp);
    ReportBlock b = rs.makeReportBlock(t0 + 340ms);
    EXPECT_EQ(b.lastSr, compactNtp(ntp));
    EXPECT_EQ(b.delaySinceLastSr, 300u * 65536 / 1000);
    auto r = rtt.onReportBlock(t0 + 400ms, b);
    ASSERT_TRUE(r);
    EXPECT_NEAR(toMillis(*r), 100.0, 0.1);
    EXPECT_EQ(rtt.latestRtt(), r);
    b.lastSr = 12345;  // an SR we never sent
    EXPECT_FALSE(rtt.onReportBlock(t0 + 400ms, b));
    b.lastSr = 0;
    EXPECT_FALSE(rtt.onReportBlock(t0 + 400ms, b));
    // The RFC's compact-NTP arithmetic: A=0x10000 (1 s), LSR=0x8000, DLSR=0x4000 → 0.25 s.
    EXPECT_NEAR(toMillis(*rttFromCompactNtp(0x10000, 0x8000, 0x4000)), 250.0, 0.1);
    EXPECT_FALSE(rttFromCompactNtp(0x8000, 0x8000, 0x4000));
}

TEST(NackGenerator, AsksAtOnceThenEveryRttThenGivesUp) {
    NackGenerator::Config cfg;
    cfg.maxRetries = 3;
    cfg.maxAge = 10s;
    NackGenerator n(cfg);
    n.onRtt(50ms);
    n.onPacket(t0, 10);
    n.onPacket(t0, 13);  // 11, 12 missing
    EXPECT_EQ(n.pollNack(t0), (std::vector<uint16_t>{11, 12}));
    EXPECT_EQ(n.pollTimeout(), t0 + 50ms);
    EXPECT_TRUE(n.pollNack(t0 + 49ms).empty());
    n.onPacket(t0 + 49ms, 12);  // recovered
    EXPECT_EQ(n.stats().recovered, 1u);
    EXPECT_EQ(n.pollNack(t0 + 50ms), (std::vector<uint16_t>{11}));
    EXPECT_EQ(n.pollNack(t0 + 100ms), (std::vector<uint16_t>{11}));
    EXPECT_FALSE(n.pollKeyframeNeeded());
    EXPECT_TRUE(n.pollNack(t0 + 149ms).empty());
    EXPECT_TRUE(n.pollNack(t0 + 150ms).empty());  // 3 retries spent, one RTT waited: give up
    EXPECT_TRUE(n.pollKeyframeNeeded());
    EXPECT_FALSE(n.pollKeyframeNeeded());  // once
    EXPECT_EQ(n.stats().givenUp, 1u);
    EXPECT_EQ(n.stats().requested, 4u);
    EXPECT_EQ(n.missingCount(), 0u);
    EXPECT_FALSE(n.pollTimeout());
}

TEST(NackGenerator, GivesUpByAgeAndOnHugeGaps) {
    NackGenerator::Config cfg;
    cfg.maxAge = 200ms;
    cfg.maxMissing = 100;
    NackGenerator n(cfg);
    n.onPacket(t0, 65535);
    n.onPacket(t0, 2);  // wraps: 0 and 1 missing
    EXPECT_EQ(n.pollNack(t0), (std::vector<uint16_t>{0, 1}));
    EXPECT_EQ(n.pollTimeout(), t0 + 100ms);
    n.pollNack(t0 + 100ms);
    EXPECT_EQ(n.pollTimeout(), t0 + 200ms);
    EXPECT_TRUE(n.pollNack(t0 + 200ms).empty());
    EXPECT_TRUE(n.pollKeyframeNeeded());
    EXPECT_EQ(n.stats().givenUp, 2u);
    n.onPacket(t0 + 1s, 500);  // 497 missing > maxMissing
    EXPECT_EQ(n.missingCount(), 0u);
    EXPECT_TRUE(n.pollKeyframeNeeded());
}

TEST(TwccGenerator, ReportsArrivalsEveryIntervalAndRoundTrips) {
    TwccGenerator::Config cfg;
    cfg.senderSsrc = 1;
    cfg.mediaSsrc = 2;
    TwccGenerator g(cfg);
    EXPECT_FALSE(g.pollTimeout());
    // seq 65534, 65535, (0 lost), 1, 2 with the last arriving 20 ms later.
    g.onPacket(t0 + 1ms, 65534);
    g.onPacket(t0 + 2ms, 65535);
    g.onPacket(t0 + 3ms, 1);
    g.onPacket(t0 + 23ms, 2);
    auto fb = g.pollFeedback(t0 + 23ms);
    ASSERT_TRUE(fb);
    EXPECT_EQ(fb->baseSequenceNumber, 65534);
    ASSERT_EQ(fb->packets.size(), 5u);
    EXPECT_FALSE(fb->packets[2].received);
    // The generated packet survives the wire; arrival times are exact to the 250 µs tick.
    auto parsed = parseRtcp(serializeRtcp(RtcpPacket(*fb)));
    ASSERT_EQ(parsed.packets.size(), 1u);
    auto back = std::get<TransportFeedback>(parsed.packets[0]);
    auto times = back.arrivalTimesUs();
    EXPECT_EQ(*times[1] - *times[0], 1000);
    EXPECT_EQ(*times[3] - *times[0], 2000);
    EXPECT_EQ(*times[4] - *times[0], 22000);
    // Nothing more until the next interval, and then only what is new.
    g.onPacket(t0 + 30ms, 3);
    EXPECT_FALSE(g.pollFeedback(t0 + 60ms));
    EXPECT_EQ(g.pollTimeout(), t0 + 73ms);
    fb = g.pollFeedback(t0 + 73ms);
    ASSERT_TRUE(fb);
    EXPECT_EQ(fb->baseSequenceNumber, 3);
    EXPECT_EQ(fb->packets.size(), 1u);
    EXPECT_EQ(fb->feedbackCount, 1);
    g.onPacket(t0 + 80ms, 2);  // already reported
    EXPECT_EQ(g.stats().late, 1u);
    EXPECT_EQ(g.stats().feedbackSent, 2u);
}

TEST(TwccGenerator, SplitsLargeReportsAndHugeGaps) {
    TwccGenerator::Config cfg;
    cfg.maxStatusesPerPacket = 100;
    TwccGenerator g(cfg);
    for (int i = 0; i < 250; ++i) g.onPacket(t0 + i * 1ms, uint16_t(i));
    std::vector<size_t> sizes;
    while (auto fb = g.pollFeedback(t0 + 300ms)) sizes.push_back(fb->packets.size());
    EXPECT_EQ(sizes, (std::vector<size_t>{100, 100, 50}));
    // 10 s of silence does not fit an int16 delta: the next packet starts a new feedback.
    g.onPacket(t0 + 1s, 250);
    g.onPacket(t0 + 11s, 251);
    sizes.clear();
    while (auto fb = g.pollFeedback(t0 + 12s)) {
        sizes.push_back(fb->packets.size());
        EXPECT_FALSE(serializeRtcp(RtcpPacket(*fb)).empty());
    }
    EXPECT_EQ(sizes, (std::vector<size_t>{1, 1}));
}

TEST(PacketHistory, ResendsOncePerRttAndForgetsByAgeAndBytes) {
    PacketHistory::Config cfg;
    cfg.maxAge = 500ms;
    cfg.maxBytes = 1000;
    PacketHistory h(cfg);
    for (int i = 0; i < 5; ++i) h.put(t0 + i * 100ms, uint16_t(65533 + i), Bytes(100, uint8_t(i)));
    EXPECT_EQ(h.packetCount(), 5u);
    const Bytes* p = h.getForResend(t0 + 400ms, 1, 50ms);  // 65533 + 4 wraps to 1
    ASSERT_TRUE(p);
    EXPECT_EQ((*p)[0], 4);
    EXPECT_FALSE(h.getForResend(t0 + 420ms, 1, 50ms));  // again within an RTT
    EXPECT_TRUE(h.getForResend(t0 + 460ms, 1, 50ms));
    EXPECT_EQ(h.stats().throttled, 1u);
    EXPECT_FALSE(h.getForResend(t0 + 601ms, 65533, 50ms));  // older than 500 ms
    EXPECT_EQ(h.stats().missing, 1u);
    EXPECT_TRUE(h.find(65535));
    h.put(t0 + 700ms, 2, Bytes(950, 9));  // pushes out everything older by bytes
    EXPECT_EQ(h.packetCount(), 1u);
    EXPECT_EQ(h.byteCount(), 950u);
}

TEST(SendStatistics, SenderReportMapsNtpToTheExtrapolatedRtpTimestamp) {
    SendStatistics s(0xABC, 90000);
    EXPECT_FALSE(s.makeSenderReport(t0, 1));
    s.onPacketSent(1000, 4'294'960'000u, t0);  // near the 2^32 wrap
    s.onPacketSent(500, 4'294'960'000u, t0);
    auto sr = s.makeSenderReport(t0 + 100ms, 0x1234'5678'9ABC'DEF0);
    ASSERT_TRUE(sr);
    EXPECT_EQ(sr->ssrc, 0xABCu);
    EXPECT_EQ(sr->ntpTime, 0x1234'5678'9ABC'DEF0u);
    EXPECT_EQ(sr->rtpTimestamp, uint32_t(4'294'960'000u + 9000u));  // wrapped
    EXPECT_EQ(sr->packetCount, 2u);
    EXPECT_EQ(sr->octetCount, 1500u);
    // The receiver's report echoes it; RTT follows.
    RttEstimator rtt;
    rtt.onSenderReportSent(t0 + 100ms, sr->ntpTime);
    ReceiveStatistics rs(0xABC, {90000, 1});
    rs.onPacket(t0, 1, 0);
    rs.onSenderReport(t0 + 130ms, sr->ntpTime);
    auto r = rtt.onReportBlock(t0 + 260ms, rs.makeReportBlock(t0 + 230ms));
    ASSERT_TRUE(r);
    EXPECT_NEAR(toMillis(*r), 60.0, 0.1);
}
