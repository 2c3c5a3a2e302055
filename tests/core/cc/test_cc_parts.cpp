// The congestion controller's parts alone: burst grouping, the trendline detector on a
// growing and a steady delay, AIMD decrease/increase, the loss-based rule, feedback matching,
// and the pacer's rate, priorities and probes — all in virtual time.
#include <gtest/gtest.h>

#include "core/cc/delay_based.hpp"
#include "core/cc/feedback_adapter.hpp"
#include "core/cc/goog_cc.hpp"
#include "core/cc/loss_based.hpp"
#include "core/cc/pacer.hpp"

using namespace tincan;
using namespace tincan::cc;

namespace {
const Timestamp t0 = Timestamp{} + 100s;
int64_t us(Duration d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}
}  // namespace

TEST(InterArrival, GroupsFiveMillisecondBursts) {
    InterArrival ia;
    // Group 1: sent 0..4 ms; group 2: 20..22 ms; group 3 starts at 40 ms and closes group 2.
    EXPECT_FALSE(ia.onPacket(t0, 50'000));
    EXPECT_FALSE(ia.onPacket(t0 + 4ms, 55'000));
    EXPECT_FALSE(ia.onPacket(t0 + 20ms, 71'000));  // closes group 1 (no previous yet)
    EXPECT_FALSE(ia.onPacket(t0 + 22ms, 80'000));
    auto d = ia.onPacket(t0 + 40ms, 95'000);
    ASSERT_TRUE(d);
    EXPECT_DOUBLE_EQ(d->sendDeltaMs, 18.0);     // 22 - 4
    EXPECT_DOUBLE_EQ(d->arrivalDeltaMs, 25.0);  // 80 - 55
    EXPECT_EQ(d->arrivalTimeUs, 80'000);
}

TEST(TrendlineEstimator, GrowingDelayIsOveruseSteadyIsNormal) {
    TrendlineEstimator growing, steady;
    BandwidthUsage g = BandwidthUsage::Normal, s = BandwidthUsage::Normal;
    for (int i = 1; i <= 60; ++i) {
        // Groups every 10 ms; the growing path delivers each 2 ms later than the last.
        g = growing.update({10.0, 12.0, int64_t(i) * 12'000});
        s = steady.update({10.0, 10.0 + ((i % 2) ? 0.5 : -0.5), int64_t(i) * 10'000});
        if (g == BandwidthUsage::Overusing) break;
    }
    EXPECT_EQ(g, BandwidthUsage::Overusing);
    EXPECT_GT(growing.trend(), 0.1);
    EXPECT_EQ(s, BandwidthUsage::Normal);
    // A draining queue (arrivals closer than sends) is underuse.
    TrendlineEstimator draining;
    BandwidthUsage u = BandwidthUsage::Normal;
    for (int i = 1; i <= 40; ++i) u = draining.update({10.0, 8.0, int64_t(i) * 8'000});
    EXPECT_EQ(u, BandwidthUsage::Underusing);
}

TEST(AimdRateControl, DecreasesToBetaTimesAckedAndIncreasesMultiplicatively) {
    AimdRateControl aimd({30'000, 10'000'000, 0.85}, 1'000'000);
    aimd.update(t0, BandwidthUsage::Normal, 1'000'000);
    // One second of Normal: +8 % (multiplicative, capacity unknown).
    uint64_t up = aimd.update(t0 + 1s, BandwidthUsage::Normal, 1'000'000);
    EXPECT_NEAR(double(up), 1'080'000, 1000);
    uint64_t down = aimd.update(t0 + 1100ms, BandwidthUsage::Overusing, 900'000);
    EXPECT_EQ(down, uint64_t(0.85 * 900'000));
    EXPECT_TRUE(aimd.linkCapacityKbps());
    EXPECT_FALSE(aimd.timeToReduceFurther(t0 + 1150ms, 800'000));  // within one RTT
    EXPECT_TRUE(aimd.timeToReduceFurther(t0 + 1150ms, 300'000));   // acked collapsed
    // Underuse holds; normal afterwards increases additively near the known capacity.
    EXPECT_EQ(aimd.update(t0 + 1200ms, BandwidthUsage::Underusing, 900'000), down);
    aimd.update(t0 + 1300ms, BandwidthUsage::Normal, 900'000);
    uint64_t additive = aimd.update(t0 + 2300ms, BandwidthUsage::Normal, 900'000);
    EXPECT_GT(additive, down);
    EXPECT_LT(additive, down + 50'000);  // ~one packet per response time, not 8 %
    // Never above 1.5 × acked + 10 kbit/s.
    AimdRateControl capped({30'000, 10'000'000, 0.85}, 200'000);
    for (int i = 0; i < 30; ++i) capped.update(t0 + i * 1s, BandwidthUsage::Normal, 100'000);
    EXPECT_LE(capped.estimateBps(), 200'000u);
}

TEST(LossBasedBwe, ThresholdsOfTheDraft) {
    LossBasedBwe loss({30'000, 10'000'000, 20, 0.02, 0.10}, 1'000'000);
    EXPECT_EQ(loss.onPackets(t0, 0, 10), 1'000'000u);  // fewer than 20 packets: no verdict
    EXPECT_EQ(loss.onPackets(t0, 0, 10), 1'050'000u);  // 0 % → +5 %
    EXPECT_EQ(loss.onPackets(t0, 1, 20), 1'050'000u);  // 5 % → hold
    EXPECT_EQ(loss.onPackets(t0, 4, 20), uint64_t(1'050'000 * 0.9));  // 20 % → × (1 − 0.1)
    // A second heavy loss within 300 ms + RTT does not decrease again.
    EXPECT_EQ(loss.onPackets(t0 + 100ms, 10, 20), uint64_t(1'050'000 * 0.9));
    EXPECT_LT(loss.onPackets(t0 + 600ms, 10, 20), uint64_t(1'050'000 * 0.9));
}

TEST(FeedbackAdapter, MatchesFeedbackToSentPacketsAcrossTheWrap) {
    FeedbackAdapter a;
    for (int i = 0; i < 4; ++i)
        a.onPacketSent({uint16_t(65534 + i), t0 + i * 1ms, 1000, i == 3 ? 7 : kNoProbe});
    EXPECT_EQ(a.outstandingBytes(), 4000u);
    rtp::TransportFeedback fb;
    fb.baseSequenceNumber = 65534;
    fb.referenceTime = 10;
    fb.packets = {{true, 4}, {false, 0}, {true, 8}, {true, 4}, {true, 4}};  // the 5th: unknown
    auto r = a.onFeedback(fb);
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(r[0].seq, 65534);
    EXPECT_EQ(r[0].arrivalTimeUs, 640'000 + 1000);
    EXPECT_FALSE(r[1].arrivalTimeUs);
    EXPECT_EQ(r[2].seq, 65536);
    EXPECT_EQ(r[2].arrivalTimeUs, 640'000 + 3000);
    EXPECT_EQ(r[3].probeClusterId, 7);
    EXPECT_EQ(a.stats().unknownSeq, 1u);
    EXPECT_EQ(a.outstandingBytes(), 0u);
    // Reported again: the received ones are not reported twice.
    EXPECT_EQ(a.onFeedback(fb).size(), 1u);  // only the lost one, now still lost
    EXPECT_EQ(a.stats().duplicates, 3u);
}

TEST(Pacer, PacesVideoAtTheRateAndLetsAudioThrough) {
    Pacer::Config cfg;
    cfg.pacingFactor = 1.0;
    Pacer p(cfg);
    p.setTargetBitrate(800'000);  // 100 bytes per ms
    for (uint64_t i = 0; i < 50; ++i) p.enqueue(t0, i, 1000, PacketKind::Video);
    // Drain for 200 ms in 1 ms steps: about 20 kB → 20 packets (+ the 5 ms burst allowance).
    size_t sent = 0;
    std::vector<uint64_t> order;
    for (int ms = 0; ms < 200; ++ms) {
        Timestamp now = t0 + ms * 1ms;
        if (ms == 100) {
            p.enqueue(now, 1000, 100, PacketKind::Audio);
            p.enqueue(now, 2000, 1000, PacketKind::Retransmission);
        }
        while (auto s = p.poll(now)) {
            ++sent;
            order.push_back(s->id);
            EXPECT_EQ(s->type, PacedSend::Type::Media);
        }
    }
    EXPECT_GE(sent, 20u);
    EXPECT_LE(sent, 23u);
    // At 100 ms audio went first at once, then the retransmission before queued video.
    auto audioPos = std::find(order.begin(), order.end(), 1000u) - order.begin();
    auto rtxPos = std::find(order.begin(), order.end(), 2000u) - order.begin();
    EXPECT_EQ(rtxPos, audioPos + 1);
    EXPECT_NEAR(double(audioPos), 10.0, 2.0);
    EXPECT_GT(p.oldestQueueTime(t0 + 200ms), 150ms);
    ASSERT_TRUE(p.pollTimeout());
}

TEST(Pacer, AudioIsNeverHeldByTheBudget) {
    Pacer p;
    p.setTargetBitrate(100'000);
    p.enqueue(t0, 1, 60'000, PacketKind::Video);  // uses far more than the budget
    ASSERT_TRUE(p.poll(t0));
    EXPECT_FALSE(p.poll(t0));
    p.enqueue(t0, 2, 80, PacketKind::Audio);
    EXPECT_EQ(p.pollTimeout(), Timestamp{});
    auto s = p.poll(t0);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->id, 2u);
}

TEST(Pacer, ProbeClusterSendsPaddingAtItsRate) {
    Pacer p;
    p.setTargetBitrate(100'000);
    p.startProbe({5, 8'000'000, 10'000, 5});  // 1 byte per µs
    std::vector<Timestamp> times;
    size_t bytes = 0;
    for (int step = 0; step < 100 && bytes < 10'000; ++step) {
        Timestamp now = t0 + step * 1ms;
        while (auto s = p.poll(now)) {
            EXPECT_EQ(s->type, PacedSend::Type::Padding);
            EXPECT_EQ(s->probeClusterId, 5);
            times.push_back(now);
            bytes += s->sizeBytes;
        }
    }
    EXPECT_EQ(bytes, 10'000u);
    EXPECT_EQ(p.stats().paddingPackets, 10u);
    // 10 kB at 8 Mbit/s: 10 ms (the last packet leaves at 9 ms).
    EXPECT_EQ(times.back() - times.front(), 9ms);
    EXPECT_FALSE(p.pollTimeout());
}

TEST(CongestionController, StartsWithProbesAndAcceptsRemb) {
    CongestionController cc;
    EXPECT_FALSE(cc.pollProbe());
    cc.onPacketSent({1, t0, 1200, kNoProbe});
    auto p1 = cc.pollProbe();
    auto p2 = cc.pollProbe();
    ASSERT_TRUE(p1 && p2);
    EXPECT_EQ(p1->rateBps, 900'000u);
    EXPECT_EQ(p2->rateBps, 1'800'000u);
    EXPECT_EQ(cc.targetBitrateBps(), 300'000u);
    cc.onRemb(t0, 120'000);
    EXPECT_EQ(cc.targetBitrateBps(), 120'000u);
    EXPECT_EQ(cc.pacingRateBps(), 300'000u);
    (void)us;
}
