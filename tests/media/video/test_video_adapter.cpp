#include "media/video/video_adapter.hpp"

#include <gtest/gtest.h>

using namespace tincan::media;

TEST(VideoAdapter, FullFormatWhenBitrateAffordsIt) {
    VideoAdapter a({});
    a.onTargetBitrate(2'500'000);
    EXPECT_EQ(a.format(), (VideoFormat{1280, 720, 30}));
}

TEST(VideoAdapter, ResolutionStepsDownWithBitrateThenFrameRate) {
    VideoAdapter a({});
    a.onTargetBitrate(
        600'000);  // 0.04 bpp: 1280x720x30 needs 1.1 Mbit/s, 960x540 0.62, 640x360 0.28
    EXPECT_EQ(a.format(), (VideoFormat{640, 360, 30}));
    a.onTargetBitrate(20'000);  // even 320x180 at 30 fps (69 kbit/s) is too dear: fps drops
    EXPECT_EQ(a.format().width, 320);
    EXPECT_LT(a.format().fps, 30);
    EXPECT_GE(a.format().fps, 10);
}

TEST(VideoAdapter, StepsUpOnlyWithHeadroom) {
    VideoAdapter a({});
    a.onTargetBitrate(600'000);
    ASSERT_EQ(a.format().width, 640);
    a.onTargetBitrate(640'000);  // 960x540 needs 622k; stepping up needs 20 % more
    EXPECT_EQ(a.format().width, 640);
    a.onTargetBitrate(800'000);
    EXPECT_EQ(a.format().width, 960);
}

TEST(VideoAdapter, CpuOverloadStepsDownAndRecovers) {
    VideoAdapterConfig c;
    c.cpuCooldownFrames = 10;
    VideoAdapter a(c);
    a.onTargetBitrate(5'000'000);
    for (int i = 0; i < 10; ++i) a.onFrameEncoded(30'000);  // 30 ms per frame at 30 fps: 90 %
    EXPECT_EQ(a.cpuSteps(), 1);
    EXPECT_EQ(a.format().width, 960);
    for (int i = 0; i < 10; ++i) a.onFrameEncoded(5'000);  // 15 %
    EXPECT_EQ(a.cpuSteps(), 0);
    EXPECT_EQ(a.format().width, 1280);
}
