// The whole send-side loop in virtual time: a media source that follows the target, the
// pacer, a bottleneck link (rate, one-way delay, drop-tail buffer, random loss), the
// receiver's TWCC generator and the feedback path back into the CongestionController.
//
// Figures are printed (grep "cc-sim") so that runs can be compared; the assertions are the
// issue's goals: settle above 70 % of a 1 Mbit/s link within 10 s without exceeding it on
// average, bounded queueing delay, and no collapse at 5 % random loss.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <optional>
#include <random>
#include <vector>

#include "core/cc/goog_cc.hpp"
#include "core/cc/pacer.hpp"
#include "core/rtp/twcc_generator.hpp"

using namespace tincan;
using namespace tincan::cc;

namespace {

struct LinkConfig {
    uint64_t rateBps = 1'000'000;
    Duration oneWayDelay = 50ms;
    size_t bufferBytes = 40'000;  // drop-tail: ~320 ms at 1 Mbit/s
    double randomLoss = 0.0;
    // Optional step change of the link rate (e.g. a competing flow, a route change).
    std::optional<std::pair<Duration, uint64_t>> rateChange;
};

struct SimResult {
    std::vector<std::pair<double, uint64_t>> targets;  // (seconds, bps) every 100 ms
    double settleS = -1;           // from then on the target stayed ≥ 70 % of the link
    double meanTargetLateBps = 0;  // mean target over the second half
    double minTargetLateBps = 0;
    double deliveredLateBps = 0;  // what crossed the link in the second half
    double p95QueueMsLate = 0;
    double maxQueueMsLate = 0;
    double p95QueueMsLast5s = 0;
    uint64_t dropTail = 0, randomDrops = 0;
};

SimResult simulate(const LinkConfig& link, Duration length, uint32_t seed) {
    const Timestamp t0 = Timestamp{} + 1000s;
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> uni(0, 1);
    CongestionController cc;
    Pacer pacer;
    rtp::TwccGenerator twcc;
    cc.onRtt(2 * link.oneWayDelay);

    std::vector<size_t> sizes;  // packet id → size
    uint16_t transportSeq = 0;
    struct InFlight {
        Timestamp arrival;
        Timestamp departure;
        uint16_t seq;
        size_t size;
        Duration queueDelay;
    };
    std::deque<InFlight> wire;                       // FIFO: arrival order
    std::deque<std::pair<Timestamp, size_t>> queue;  // (departure, size) of packets on the link
    size_t queueBytes = 0;
    Timestamp linkFree = t0;
    uint64_t linkRate = link.rateBps;
    std::deque<std::pair<Timestamp, rtp::TransportFeedback>> feedback;

    SimResult res;
    std::vector<double> lateQueueMs, last5QueueMs;
    uint64_t lateBytes = 0;
    Timestamp nextVideo = t0, nextAudio = t0;
    const Duration step = 1ms;
    const Timestamp end = t0 + length;
    const Timestamp late = t0 + length / 2;

    for (Timestamp now = t0; now < end; now += step) {
        const uint64_t target = cc.targetBitrateBps();
        // Media: 50 audio packets/s of 100 bytes; 30 video frames/s sharing the rest.
        if (now >= nextAudio) {
            sizes.push_back(100);
            pacer.enqueue(now, sizes.size() - 1, 100, PacketKind::Audio);
            nextAudio += 20ms;
        }
        if (now >= nextVideo) {
            // An encoder misses its budget per frame by up to ±30 %, on average hitting it.
            const double jitter = 0.7 + 0.6 * uni(rng);
            size_t frameBytes = size_t(
                jitter * double(std::max<int64_t>(int64_t(target) - 40'000, 20'000)) / 8 / 30);
            while (frameBytes > 0) {
                size_t n = std::min<size_t>(frameBytes, 1200);
                sizes.push_back(n);
                pacer.enqueue(now, sizes.size() - 1, n, PacketKind::Video);
                frameBytes -= n;
            }
            nextVideo +=
                std::chrono::duration_cast<Duration>(std::chrono::duration<double>(1.0 / 30));
        }
        pacer.setTargetBitrate(target);
        while (auto probe = cc.pollProbe()) pacer.startProbe(*probe);

        if (link.rateChange && now - t0 >= link.rateChange->first)
            linkRate = link.rateChange->second;
        // Link: packets whose transmission finished leave the buffer.
        while (!queue.empty() && queue.front().first <= now) {
            queueBytes -= queue.front().second;
            queue.pop_front();
        }
        while (auto s = pacer.poll(now)) {
            const size_t size = s->sizeBytes;
            const uint16_t seq = transportSeq++;
            cc.onPacketSent({seq, now, size, s->probeClusterId});
            if (uni(rng) < link.randomLoss) {
                ++res.randomDrops;
                continue;
            }
            if (queueBytes + size > link.bufferBytes) {
                ++res.dropTail;
                continue;
            }
            const auto tx = std::chrono::duration_cast<Duration>(
                std::chrono::duration<double>(double(size) * 8 / double(linkRate)));
            const Timestamp start = std::max(now, linkFree);
            const Timestamp departure = start + tx;
            linkFree = departure;
            queue.emplace_back(departure, size);
            queueBytes += size;
            wire.push_back({departure + link.oneWayDelay, departure, seq, size, start - now});
        }
        // Receiver.
        while (!wire.empty() && wire.front().arrival <= now) {
            const InFlight& f = wire.front();
            twcc.onPacket(f.arrival, f.seq);
            if (f.departure >= late) {
                lateQueueMs.push_back(toMillis(f.queueDelay));
                if (f.departure >= end - 5s) last5QueueMs.push_back(toMillis(f.queueDelay));
                lateBytes += f.size;
            }
            wire.pop_front();
        }
        while (auto fb = twcc.pollFeedback(now)) feedback.emplace_back(now + link.oneWayDelay, *fb);
        while (!feedback.empty() && feedback.front().first <= now) {
            cc.onTransportFeedback(now, feedback.front().second);
            feedback.pop_front();
        }
        if ((now - t0) % 100ms == Duration::zero())
            res.targets.emplace_back(std::chrono::duration<double>(now - t0).count(), target);
    }

    const double cap = double(link.rateChange ? link.rateChange->second : link.rateBps);
    for (auto it = res.targets.rbegin(); it != res.targets.rend(); ++it) {
        if (double(it->second) < 0.7 * cap) break;
        res.settleS = it->first;
    }
    double sum = 0, minT = 1e18;
    size_t n = 0;
    for (const auto& [s, bps] : res.targets) {
        if (s < std::chrono::duration<double>(length / 2).count()) continue;
        sum += double(bps);
        minT = std::min(minT, double(bps));
        ++n;
    }
    res.meanTargetLateBps = n ? sum / double(n) : 0;
    res.minTargetLateBps = minT;
    res.deliveredLateBps =
        double(lateBytes) * 8 / std::chrono::duration<double>(length / 2).count();
    std::sort(last5QueueMs.begin(), last5QueueMs.end());
    if (!last5QueueMs.empty()) res.p95QueueMsLast5s = last5QueueMs[last5QueueMs.size() * 95 / 100];
    std::sort(lateQueueMs.begin(), lateQueueMs.end());
    if (!lateQueueMs.empty()) {
        res.p95QueueMsLate = lateQueueMs[lateQueueMs.size() * 95 / 100];
        res.maxQueueMsLate = lateQueueMs.back();
    }
    return res;
}

void print(const char* name, const LinkConfig& link, const SimResult& r) {
    const double finalBps = double(link.rateChange ? link.rateChange->second : link.rateBps);
    std::printf(
        "cc-sim %s: link %.0f kbit/s (at the end), loss %.0f %%: settled >=70%% at %.1f s; target "
        "over "
        "the second half mean %.0f kbit/s (%.0f %% of link), min %.0f; delivered %.0f kbit/s; "
        "queueing delay p95 %.0f ms, max %.0f ms (last 5 s: p95 %.0f ms); drop-tail %llu, random "
        "%llu\n",
        name, finalBps / 1000, link.randomLoss * 100, r.settleS, r.meanTargetLateBps / 1000,
        100 * r.meanTargetLateBps / finalBps, r.minTargetLateBps / 1000, r.deliveredLateBps / 1000,
        r.p95QueueMsLate, r.maxQueueMsLate, r.p95QueueMsLast5s, (unsigned long long)r.dropTail,
        (unsigned long long)r.randomDrops);
    std::printf("cc-sim %s: target kbit/s each second:", name);
    for (const auto& [s, bps] : r.targets)
        if (int(s * 10) % 10 == 0) std::printf(" %.0f", double(bps) / 1000);
    std::printf("\n");
}

}  // namespace

TEST(CongestionSim, SettlesUnderAOneMegabitBottleneck) {
    LinkConfig link;  // 1 Mbit/s, 100 ms RTT, drop-tail
    for (uint32_t seed : {1u, 2u, 3u}) {
        SimResult r = simulate(link, 20s, seed);
        print("bottleneck", link, r);
        EXPECT_GE(r.settleS, 0) << "seed " << seed;
        EXPECT_LE(r.settleS, 10.0) << "seed " << seed;
        EXPECT_GT(r.meanTargetLateBps, 0.7 * double(link.rateBps)) << "seed " << seed;
        EXPECT_LT(r.meanTargetLateBps, 1.0 * double(link.rateBps)) << "seed " << seed;
        EXPECT_LT(r.p95QueueMsLate, 100.0) << "seed " << seed;
        EXPECT_EQ(r.dropTail, 0u) << "seed " << seed;
    }
}

TEST(CongestionSim, FollowsTheLinkDownFromTwoMegabitsToOne) {
    LinkConfig link;
    link.rateBps = 2'000'000;
    link.rateChange = std::make_pair(Duration(10s), uint64_t(1'000'000));
    SimResult r = simulate(link, 20s, 5);
    print("rate-drop", link, r);
    // Before the drop it used the 2 Mbit/s; after it, it is back under 1 Mbit/s on average
    // (second half = after the drop).
    double before = 0;
    for (const auto& [s, bps] : r.targets)
        if (s >= 5 && s < 10) before = std::max(before, double(bps));
    EXPECT_GT(before, 1'400'000.0);
    EXPECT_LT(r.meanTargetLateBps, 1'000'000.0);
    EXPECT_GT(r.meanTargetLateBps, 600'000.0);
    // The queue built while sending 1.7 Mbit/s into 1 Mbit/s drains within five seconds.
    EXPECT_LT(r.p95QueueMsLast5s, 100.0);
}

TEST(CongestionSim, FivePercentRandomLossDoesNotCollapse) {
    LinkConfig link;
    link.rateBps = 5'000'000;
    link.bufferBytes = 1'000'000;
    link.randomLoss = 0.05;
    SimResult r = simulate(link, 20s, 4);
    print("random-loss", link, r);
    // Holding between 2 % and 10 % loss: stays at or above the start rate, far from 30 kbit/s.
    EXPECT_GE(r.minTargetLateBps, 300'000.0);
}
