// The adaptive playout buffer: a tone through Opus, a jittery, lossy, reordering network, the
// buffer and the decoder keeps its pitch; losses are concealed and counted; the delay follows
// the jitter.
#include "media/audio/audio_playout_buffer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "media/audio/tone.hpp"

using namespace tincan;
using namespace tincan::media;

namespace {

struct Encoded {
    uint16_t seq;
    uint32_t ts;
    Bytes payload;
};

std::vector<Encoded> encodeTone(double hz, int packets, bool fec) {
    OpusAudioEncoder enc;
    EXPECT_TRUE(enc.init({.bitrateBps = 32'000, .fec = fec, .expectedLossPct = fec ? 10 : 0}));
    ToneSource tone(hz, -6.0);
    std::vector<Encoded> out;
    AudioFrame f;
    uint8_t pkt[OpusAudioEncoder::kMaxPacket];
    for (int i = 0; i < packets; ++i) {
        tone.fill(f);
        const size_t n = enc.encode(f, pkt);
        // RTP seq and timestamp start near their wrap points.
        out.push_back(
            {uint16_t(65530 + i), uint32_t(0xFFFFF000u + f.rtpTimestamp), Bytes(pkt, pkt + n)});
    }
    return out;
}

struct PlayoutRun {
    AudioPlayoutStats stats;
    std::vector<int16_t> played;
    int finalTargetMs = 0;
    size_t lost = 0;
    std::vector<int> delaysMs;
};

// Sends 20 ms packets with the given jitter and loss, pulls 10 ms every 10 ms.
PlayoutRun simulate(const std::vector<Encoded>& packets, int jitterMs, double loss, uint32_t seed,
                    bool fec = false, int burstAtPacket = -1) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> jitter(0, std::max(0, jitterMs));
    std::uniform_real_distribution<double> coin(0, 1);
    struct Arrival {
        Timestamp at;
        size_t index;
    };
    std::vector<Arrival> arrivals;
    PlayoutRun run;
    const Timestamp t0{};
    for (size_t i = 0; i < packets.size(); ++i) {
        if (i > 5 && coin(rng) < loss) {
            ++run.lost;
            continue;
        }
        Timestamp at = t0 + std::chrono::milliseconds(20 * int(i) + jitter(rng));
        if (burstAtPacket >= 0 && int(i) < burstAtPacket) at = t0;  // a backlog arrives at once
        arrivals.push_back({at, i});
        if (i % 17 == 3) arrivals.push_back({at + 2ms, i});  // duplicates
    }
    std::stable_sort(arrivals.begin(), arrivals.end(),
                     [](auto& a, auto& b) { return a.at < b.at; });
    AudioPlayoutBuffer buf({.useFec = fec});
    AudioFrame out;
    size_t next = 0;
    // Stop with the stream: pulling past its end would (rightly) conceal.
    const Timestamp end = t0 + std::chrono::milliseconds(20 * int(packets.size()));
    for (Timestamp now = t0; now < end; now += 10ms) {
        for (; next < arrivals.size() && arrivals[next].at <= now; ++next) {
            const auto& p = packets[arrivals[next].index];
            buf.insert(now, {p.seq, p.ts, p.payload});
        }
        buf.pull(now, out, 480);
        run.played.insert(run.played.end(), out.data().begin(), out.data().end());
        run.delaysMs.push_back(buf.currentDelayMs());
    }
    run.stats = buf.stats();
    run.finalTargetMs = buf.targetDelayMs();
    return run;
}

// Share of 20 ms windows (after `skip` samples) whose strongest candidate is `hz`.
double shareAt(const std::vector<int16_t>& pcm, double hz, size_t skip) {
    int windows = 0, hits = 0;
    for (size_t at = skip; at + 960 <= pcm.size(); at += 960) {
        std::span<const int16_t> w(pcm.data() + at, 960);
        if (rmsDbfs(w, 1) < -40) continue;  // silence (prefill, tail)
        ++windows;
        const double p = goertzelPower(w, 1, hz);
        if (p > 4 * goertzelPower(w, 1, hz * 0.7) && p > 4 * goertzelPower(w, 1, hz * 1.3)) ++hits;
    }
    return windows ? double(hits) / windows : 0;
}

}  // namespace

TEST(AudioPlayout, CleanNetworkPlaysTheToneWithoutConcealment) {
    auto packets = encodeTone(1000, 150, false);
    PlayoutRun r = simulate(packets, 0, 0.0, 1);
    EXPECT_EQ(r.stats.concealedSamples, 0u);
    EXPECT_EQ(r.stats.packetsLate, 0u);
    EXPECT_GT(r.stats.packetsDuplicate, 0u);
    EXPECT_EQ(r.finalTargetMs, 40);  // the minimum: no jitter
    EXPECT_GT(shareAt(r.played, 1000, 9600), 0.97);
}

TEST(AudioPlayout, JitterLossAndReorderKeepTheFrequencyAndCountConcealment) {
    auto packets = encodeTone(1000, 250, false);  // 5 s
    PlayoutRun r = simulate(packets, 80, 0.05, 7);
    ASSERT_GT(r.lost, 5u);
    // Every lost packet is concealed (960 samples each) unless an underrun resync skipped it.
    EXPECT_GE(r.stats.concealedSamples, (r.lost - r.stats.resyncs) * 960);
    EXPECT_EQ(r.stats.fecRecoveredPackets, 0u);
    // Jitter up to 80 ms (p95 76 ms) plus two packets: the target rose from 40 to ~116 ms.
    EXPECT_GT(r.finalTargetMs, 100);
    EXPECT_LE(r.finalTargetMs, 130);
    EXPECT_GT(shareAt(r.played, 1000, 48000), 0.9);
    EXPECT_EQ(r.stats.packetsMalformed, 0u);
}

TEST(AudioPlayout, FecRecoversSingleLosses) {
    auto packets = encodeTone(1000, 250, true);
    PlayoutRun r = simulate(packets, 10, 0.05, 11, true);
    ASSERT_GT(r.lost, 5u);
    EXPECT_GT(r.stats.fecRecoveredPackets, r.lost / 2);
    EXPECT_GT(shareAt(r.played, 1000, 48000), 0.9);
}

TEST(AudioPlayout, LatePacketIsDroppedAndCounted) {
    auto packets = encodeTone(500, 40, false);
    AudioPlayoutBuffer buf;
    AudioFrame out;
    Timestamp now{};
    for (size_t i = 0; i < packets.size(); ++i, now += 20ms) {
        if (i != 20) buf.insert(now, {packets[i].seq, packets[i].ts, packets[i].payload});
        if (i == 30)
            buf.insert(now, {packets[20].seq, packets[20].ts, packets[20].payload});  // 200 ms late
        buf.pull(now, out, 960);
    }
    EXPECT_EQ(buf.stats().packetsLate, 1u);
    EXPECT_EQ(buf.stats().concealedSamples, 960u);
    const uint8_t junk[] = {0xFF, 0xFF, 0xFF};
    buf.insert(now, {1, 1, junk});
    buf.insert(now, {2, 2, {}});
    EXPECT_EQ(buf.stats().packetsMalformed, 2u);
}

TEST(AudioPlayout, BacklogIsWorkedOffByTimeStretch) {
    auto packets = encodeTone(800, 300, false);
    PlayoutRun r = simulate(packets, 0, 0.0, 3, false, 20);  // 400 ms of packets arrive at once
    EXPECT_GT(r.stats.removedSamples, 0u);
    EXPECT_GT(r.delaysMs[10], 250);
    EXPECT_LT(r.delaysMs[r.delaysMs.size() - 60], 90);  // back near the 40 ms target
    EXPECT_GT(shareAt(r.played, 800, 48000), 0.9);
}

TEST(AudioPlayout, TimestampJumpsEitherWayAreFollowed) {
    for (int64_t jumpSamples : {int64_t(48000) * 10, -int64_t(48000) * 10}) {
        auto packets = encodeTone(1000, 200, false);
        for (size_t i = 100; i < packets.size(); ++i)
            packets[i].ts = uint32_t(int64_t(packets[i].ts) + jumpSamples);
        PlayoutRun r = simulate(packets, 0, 0.0, 5);
        EXPECT_GE(r.stats.resyncs, 1u) << jumpSamples;
        // Lost to the jump: at most the restart run (10 packets) plus the refill.
        EXPECT_LT(r.stats.concealedSamples + r.stats.silentSamples, 48000u / 2) << jumpSamples;
        EXPECT_GT(shareAt(r.played, 1000, 48000 * 3), 0.8) << jumpSamples;  // after the jump
    }
}
