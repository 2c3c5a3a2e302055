#include "media/video/test_pattern.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace tincan::media;

namespace {

// The code band's cell geometry as the pattern lays it out (12 columns, 8 rows).
struct Cell {
    int x0, y0, w, h;
};
Cell cellAt(int width, int height, int index) {
    const int cw = width / 12;
    const int ch = std::min(cw, (height / 2) / 8);
    const int left = (width - cw * 12) / 2;
    return {left + (index % 12) * cw, (index / 12) * ch, cw, ch};
}
void fillCell(I420Frame& f, const Cell& c, uint8_t value) {
    for (int row = c.y0; row < c.y0 + c.h; ++row)
        std::memset(f.y() + size_t(row) * f.strideY() + c.x0, value, size_t(c.w));
}

}  // namespace

TEST(TestPattern, ReadsBackCounterAndTimeAtManySizes) {
    for (auto [w, h] :
         {std::pair{96, 64}, {320, 240}, {640, 480}, {1280, 720}, {1920, 1080}, {333, 197}}) {
        TestPatternSource src(w, h, 30);
        I420Frame f;
        for (int i = 0; i < 5; ++i) {
            const int64_t t = 1'700'000'000'000'000LL + i * src.frameIntervalUs();
            src.generate(f, t);
            ASSERT_EQ(f.width, w);
            ASSERT_EQ(f.height, h);
            auto s = readTestPattern(f.view());
            ASSERT_TRUE(s) << w << "x" << h << " frame " << i;
            EXPECT_EQ(s->counter, uint32_t(i));
            EXPECT_EQ(s->captureTimeUs, uint64_t(t) & kTestPatternTimeMask);
            EXPECT_EQ(f.rtpTimestamp, uint32_t(uint64_t(t) * 9 / 100));
        }
    }
}

TEST(TestPattern, MovesBetweenFrames) {
    TestPatternSource src(640, 480, 30);
    I420Frame a, b;
    src.generate(a, 0);
    src.generate(b, 33'333);
    // The lower half (outside the code band) differs: the encoder has motion to code.
    const size_t half = a.sizeY() / 2;
    EXPECT_NE(std::memcmp(a.y() + half, b.y() + half, half), 0);
}

TEST(TestPattern, AmbiguousCellIsUnreadable) {
    TestPatternSource src(640, 480, 30);
    I420Frame f;
    src.generate(f, 123456);
    fillCell(f, cellAt(640, 480, 40), 128);  // mid-grey: neither bit
    EXPECT_FALSE(readTestPattern(f.view()));
}

TEST(TestPattern, FlippedBitFailsTheCrcInsteadOfGivingAWrongNumber) {
    TestPatternSource src(640, 480, 30);
    I420Frame f;
    for (int bit = 0; bit < 96; ++bit) {
        src.generate(f, 5'000'000);
        const Cell c = cellAt(640, 480, bit);
        const uint8_t now = f.y()[size_t(c.y0 + c.h / 2) * f.strideY() + c.x0 + c.w / 2];
        fillCell(f, c, now > 128 ? 16 : 235);
        EXPECT_FALSE(readTestPattern(f.view())) << "bit " << bit;
    }
}

TEST(TestPattern, SurvivesModerateNoise) {
    TestPatternSource src(640, 480, 30);
    I420Frame f;
    src.generate(f, 42);
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> noise(-30, 30);
    for (auto& p : f.data) p = uint8_t(std::clamp(int(p) + noise(rng), 0, 255));
    auto s = readTestPattern(f.view());
    ASSERT_TRUE(s);
    EXPECT_EQ(s->counter, 0u);
    EXPECT_EQ(s->captureTimeUs, 42u);
}

TEST(TestPattern, TooSmallOrEmptyFrameIsUnreadable) {
    I420Frame f;
    EXPECT_FALSE(readTestPattern(f.view()));
    f.resize(64, 48);
    EXPECT_FALSE(readTestPattern(f.view()));
}
