// AvSynchronizer: two simulated streams of one sender whose audio plays later than its video;
// the synchronizer's extra delays are applied at once (as a stream would, given time) and must
// bring them together in bounded steps.
#include <gtest/gtest.h>

#include <cmath>

#include "media/call/av_sync.hpp"

using namespace tincan;
using namespace tincan::media;

namespace {

constexpr uint64_t kNtpSecond = uint64_t(1) << 32;

// A sender that captured audio and video together at `captureMs` after its NTP epoch point;
// each arrives after its network delay and plays after its receive delay plus the extra one.
struct Scenario {
    int audioNetworkMs = 20, videoNetworkMs = 20;
    int audioDelayMs = 60, videoDelayMs = 60;
    uint32_t audioRtpBase = 1000, videoRtpBase = 0xFFFFF000u;  // video wraps soon
    bool mapping = true;

    SyncStreamTiming stream(bool audio, int captureMs, const AvSyncDelays& extra) const {
        SyncStreamTiming s;
        s.clockRateHz = audio ? 48000 : 90000;
        const uint32_t base = audio ? audioRtpBase : videoRtpBase;
        if (mapping) {
            // The report was sampled at NTP 3,000,000,000 s exactly, RTP `base`.
            s.senderNtpTime = uint64_t(3'000'000'000u) * kNtpSecond;
            s.senderRtpTimestamp = base;
        }
        s.latestRtpTimestamp = base + uint32_t(int64_t(captureMs) * s.clockRateHz / 1000);
        // Our clock is 12345 s ahead of theirs: it must drop out.
        s.latestArrival = Timestamp(std::chrono::milliseconds(
            12'345'000 + captureMs + (audio ? audioNetworkMs : videoNetworkMs)));
        s.currentDelayMs =
            audio ? audioDelayMs + extra.audioExtraDelayMs : videoDelayMs + extra.videoExtraDelayMs;
        return s;
    }
};

// Runs `updates` one-second updates; returns the biggest change of either delay in one update.
int run(AvSynchronizer& sync, const Scenario& sc, int updates) {
    int biggestStep = 0;
    for (int i = 0; i < updates; ++i) {
        const AvSyncDelays before = sync.delays();
        const int captureMs = 1000 * (i + 1);
        sync.update(sc.stream(true, captureMs, before), sc.stream(false, captureMs, before));
        biggestStep = std::max(
            {biggestStep, std::abs(sync.delays().audioExtraDelayMs - before.audioExtraDelayMs),
             std::abs(sync.delays().videoExtraDelayMs - before.videoExtraDelayMs)});
    }
    return biggestStep;
}

}  // namespace

TEST(AvSync, AudioLateBy150MsDelaysVideo) {
    Scenario sc;
    sc.audioNetworkMs = 170;  // audio plays 150 ms after the video captured with it
    AvSynchronizer sync;
    const int biggestStep = run(sync, sc, 60);
    EXPECT_NEAR(sync.delays().videoExtraDelayMs, 150, 30);
    EXPECT_EQ(sync.delays().audioExtraDelayMs, 0);
    EXPECT_LE(biggestStep, 80);
    EXPECT_GT(sync.stats().changes, 1u);  // in steps, not in one jump
    EXPECT_EQ(sync.stats().updates, 60u);
    EXPECT_NEAR(sync.stats().lastDifferenceMs, 0, 30);
}

TEST(AvSync, VideoLateDelaysAudioAfterGivingBackVideoDelay) {
    Scenario sc;
    sc.audioNetworkMs = 170;
    AvSynchronizer sync;
    run(sync, sc, 60);
    ASSERT_GT(sync.delays().videoExtraDelayMs, 100);
    // The path changes: now video arrives 200 ms after audio.
    sc.audioNetworkMs = 20;
    sc.videoNetworkMs = 220;
    run(sync, sc, 80);
    EXPECT_EQ(sync.delays().videoExtraDelayMs, 0);
    EXPECT_NEAR(sync.delays().audioExtraDelayMs, 200, 30);
}

TEST(AvSync, StepsAreBoundedAndTheDelayCapped) {
    Scenario sc;
    sc.audioNetworkMs = 2020;  // 2 s apart: more than the cap
    AvSyncConfig config;
    config.maxStepMs = 50;
    config.maxExtraDelayMs = 600;
    AvSynchronizer sync(config);
    EXPECT_LE(run(sync, sc, 5), 50);
    EXPECT_GT(sync.delays().videoExtraDelayMs, 0);
    run(sync, sc, 100);
    EXPECT_EQ(sync.delays().videoExtraDelayMs, 600);
}

TEST(AvSync, InSyncStaysPut) {
    Scenario sc;
    sc.audioNetworkMs = 40;  // 20 ms apart: inside the dead band
    AvSynchronizer sync;
    run(sync, sc, 30);
    EXPECT_EQ(sync.delays(), AvSyncDelays{});
    EXPECT_EQ(sync.stats().changes, 0u);
    EXPECT_EQ(sync.stats().updates, 30u);
}

TEST(AvSync, NoMappingNoChange) {
    Scenario sc;
    sc.audioNetworkMs = 170;
    sc.mapping = false;
    AvSynchronizer sync;
    run(sync, sc, 20);
    EXPECT_EQ(sync.delays(), AvSyncDelays{});
    EXPECT_EQ(sync.stats().noMapping, 20u);
    EXPECT_EQ(sync.stats().updates, 0u);
    // Nothing received yet: counted apart.
    EXPECT_FALSE(sync.update(SyncStreamTiming{}, SyncStreamTiming{}));
    EXPECT_EQ(sync.stats().noFrames, 1u);
}

TEST(AvSync, ImplausibleDifferenceIsIgnoredAndCounted) {
    Scenario sc;
    sc.audioNetworkMs = 9000;
    AvSynchronizer sync;
    run(sync, sc, 10);
    EXPECT_EQ(sync.delays(), AvSyncDelays{});
    EXPECT_EQ(sync.stats().implausible, 10u);
}

TEST(AvSync, CaptureTimeFromTheMappingAcrossTheRtpWrap) {
    SyncStreamTiming s;
    s.clockRateHz = 90000;
    s.senderNtpTime = (uint64_t(10) << 32) | (uint64_t(1) << 31);  // 10.5 s
    s.senderRtpTimestamp = 0xFFFFFFFFu - 8999;                     // 0.1 s before the wrap
    s.latestRtpTimestamp = 9000;                                   // 0.1 s after it
    ASSERT_TRUE(AvSynchronizer::captureNtpMs(s));
    EXPECT_NEAR(*AvSynchronizer::captureNtpMs(s), 10'700, 0.1);
    s.latestRtpTimestamp = s.senderRtpTimestamp - 45000;  // before the report
    EXPECT_NEAR(*AvSynchronizer::captureNtpMs(s), 10'000, 0.1);
}
