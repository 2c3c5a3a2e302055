#include <gtest/gtest.h>

#include "media/video/test_pattern.hpp"
#include "media/video/vp8_decoder.hpp"
#include "media/video/vp8_encoder.hpp"

using namespace tincan::media;

namespace {

Vp8EncoderConfig configFor(int w, int h, int bps) {
    Vp8EncoderConfig c;
    c.width = w;
    c.height = h;
    c.fps = 30;
    c.targetBitrateBps = bps;
    return c;
}

// Encodes `frames` pattern frames, decodes each, and checks that every one decodes and that its
// pixels carry the right counter and capture time.
void roundTrip(int w, int h, int bps, int frames) {
    TestPatternSource src(w, h, 30);
    Vp8Encoder enc;
    ASSERT_TRUE(enc.init(configFor(w, h, bps))) << enc.error();
    Vp8Decoder dec;
    ASSERT_TRUE(dec.init(enc.threads()));
    I420Frame raw;
    for (int i = 0; i < frames; ++i) {
        const int64_t t = 10'000'000 + i * src.frameIntervalUs();
        src.generate(raw, t);
        auto ef = enc.encode(raw.view());
        ASSERT_TRUE(ef) << enc.error();
        EXPECT_EQ(ef->keyframe, i == 0);
        EXPECT_EQ(ef->rtpTimestamp, raw.rtpTimestamp);
        I420View out;
        ASSERT_EQ(dec.decode(ef->data, out), DecodeStatus::Ok)
            << "frame " << i << ": " << dec.error();
        ASSERT_EQ(out.width, w);
        ASSERT_EQ(out.height, h);
        auto stamp = readTestPattern(out);
        ASSERT_TRUE(stamp) << w << "x" << h << " @" << bps << " frame " << i << " unreadable";
        EXPECT_EQ(stamp->counter, uint32_t(i));
        EXPECT_EQ(stamp->captureTimeUs, uint64_t(t));
    }
    EXPECT_EQ(enc.stats().framesEncoded, uint64_t(frames));
    EXPECT_EQ(dec.stats().framesDecoded, uint64_t(frames));
}

}  // namespace

TEST(Vp8Codec, EveryFrameReadsBackAt640x480) {
    roundTrip(640, 480, 1'000'000, 90);
}
TEST(Vp8Codec, EveryFrameReadsBackAt1280x720) {
    roundTrip(1280, 720, 2'000'000, 90);
}
TEST(Vp8Codec, EveryFrameReadsBackAtLowBitrate) {
    roundTrip(640, 480, 250'000, 90);
}

TEST(Vp8Codec, ThreadsByResolution) {
    // Two shared cores: always one thread (VP8's threads spin-wait on each other).
    EXPECT_EQ(Vp8Encoder::threadsFor(640, 480, 2, 2), 1);
    EXPECT_EQ(Vp8Encoder::threadsFor(1280, 720, 2, 2), 1);
    EXPECT_EQ(Vp8Encoder::threadsFor(1280, 720, 2, 4), 2);
    EXPECT_EQ(Vp8Encoder::threadsFor(1280, 720, 1, 4), 1);
    EXPECT_EQ(Vp8Encoder::threadsFor(640, 480, 8, 8), 1);
    EXPECT_EQ(Vp8Encoder::threadsFor(1920, 1080, 8, 8), 4);
}

TEST(Vp8Codec, KeyframeOnRequestDecodesAlone) {
    TestPatternSource src(320, 240, 30);
    Vp8Encoder enc;
    ASSERT_TRUE(enc.init(configFor(320, 240, 500'000)));
    I420Frame raw;
    for (int i = 0; i < 20; ++i) {
        src.generate(raw, i * 33'333);
        if (i == 12) enc.requestKeyframe();
        auto ef = enc.encode(raw.view());
        ASSERT_TRUE(ef);
        EXPECT_EQ(ef->keyframe, i == 0 || i == 12) << i;
        EXPECT_EQ(Vp8Decoder::isKeyframe(ef->data), ef->keyframe);
        if (i == 12) {
            Vp8Decoder fresh;  // joins mid-stream
            ASSERT_TRUE(fresh.init());
            I420View out;
            ASSERT_EQ(fresh.decode(ef->data, out), DecodeStatus::Ok);
            EXPECT_EQ(readTestPattern(out)->counter, 12u);
        }
    }
    EXPECT_EQ(enc.stats().keyframesEncoded, 2u);
}

TEST(Vp8Codec, TargetBitrateFollowsChanges) {
    TestPatternSource src(640, 480, 30);
    Vp8Encoder enc;
    ASSERT_TRUE(enc.init(configFor(640, 480, 2'000'000)));
    I420Frame raw;
    auto bytesOver = [&](int frames) {
        uint64_t before = enc.stats().bytesEncoded;
        for (int i = 0; i < frames; ++i) {
            src.generate(raw, int64_t(src.nextCounter()) * 33'333);
            EXPECT_TRUE(enc.encode(raw.view()));
        }
        return enc.stats().bytesEncoded - before;
    };
    bytesOver(60);  // settle
    const uint64_t high = bytesOver(90);
    enc.setTargetBitrate(300'000);
    bytesOver(30);
    const uint64_t low = bytesOver(90);
    // 3 s at 2 Mbit/s vs 3 s at 300 kbit/s: each within a factor of the target.
    EXPECT_GT(high * 8 / 3, 1'000'000u);
    EXPECT_LT(low * 8 / 3, 500'000u);
    EXPECT_LT(low * 3, high);
}

TEST(Vp8Codec, ResolutionChangesDownAndUp) {
    Vp8Encoder enc;
    ASSERT_TRUE(enc.init(configFor(640, 480, 800'000)));
    Vp8Decoder dec;
    ASSERT_TRUE(dec.init());
    I420Frame raw;
    int counter = 0;
    for (auto [w, h] : {std::pair{640, 480}, {320, 240}, {1280, 720}, {640, 360}}) {
        TestPatternSource src(w, h, 30);
        for (int i = 0; i < 10; ++i, ++counter) {
            src.generate(raw, counter * 33'333);
            auto ef = enc.encode(raw.view());
            ASSERT_TRUE(ef) << enc.error();
            EXPECT_EQ(ef->keyframe, i == 0) << w << "x" << h << " frame " << i;
            EXPECT_EQ(ef->width, w);
            I420View out;
            ASSERT_EQ(dec.decode(ef->data, out), DecodeStatus::Ok);
            EXPECT_EQ(out.width, w);
            EXPECT_EQ(out.height, h);
            auto s = readTestPattern(out);
            ASSERT_TRUE(s);
            EXPECT_EQ(s->counter, uint32_t(i));
        }
    }
    EXPECT_EQ(enc.stats().reinitializations, 1u);  // only growing past 640x480 needs a new encoder
}

TEST(Vp8Codec, TemporalLayerOneFramesAreDroppable) {
    auto c = configFor(640, 480, 800'000);
    c.temporalLayers = 2;
    Vp8Encoder enc;
    ASSERT_TRUE(enc.init(c));
    Vp8Decoder baseOnly;
    ASSERT_TRUE(baseOnly.init());
    TestPatternSource src(640, 480, 30);
    I420Frame raw;
    int base = 0;
    for (int i = 0; i < 40; ++i) {
        src.generate(raw, i * 33'333);
        auto ef = enc.encode(raw.view());
        ASSERT_TRUE(ef);
        EXPECT_EQ(ef->temporalId, i % 2);
        EXPECT_EQ(ef->nonReference, i % 2 == 1);
        if (ef->temporalId != 0) continue;  // a receiver that loses every layer-1 frame
        I420View out;
        ASSERT_EQ(baseOnly.decode(ef->data, out), DecodeStatus::Ok) << i;
        EXPECT_EQ(readTestPattern(out)->counter, uint32_t(i));
        ++base;
    }
    EXPECT_EQ(base, 20);
}

TEST(Vp8Codec, DamagedFrameIsFlaggedAndDeltasWaitForAKeyframe) {
    Vp8Encoder enc;
    ASSERT_TRUE(enc.init(configFor(640, 480, 1'000'000)));
    Vp8Decoder dec;
    ASSERT_TRUE(dec.init());
    TestPatternSource src(640, 480, 30);
    I420Frame raw;
    I420View out;
    tincan::Bytes truncated;
    for (int i = 0; i < 6; ++i) {
        src.generate(raw, i * 33'333);
        if (i == 5) enc.requestKeyframe();
        auto ef = enc.encode(raw.view());
        ASSERT_TRUE(ef);
        if (i < 2) {
            EXPECT_EQ(dec.decode(ef->data, out), DecodeStatus::Ok);
        } else if (i == 2) {
            truncated.assign(ef->data.begin(), ef->data.begin() + ef->data.size() / 3);
            EXPECT_EQ(dec.decode(truncated, out), DecodeStatus::Corrupt);
            EXPECT_TRUE(dec.needsKeyframe());
        } else if (i < 5) {
            EXPECT_EQ(dec.decode(ef->data, out), DecodeStatus::NeedKeyframe);
        } else {
            EXPECT_EQ(dec.decode(ef->data, out), DecodeStatus::Ok);
            EXPECT_EQ(readTestPattern(out)->counter, 5u);
        }
    }
    EXPECT_EQ(dec.stats().framesCorrupt, 1u);
    EXPECT_EQ(dec.stats().framesWithoutReference, 2u);
    const uint8_t tiny[2] = {1, 2};
    EXPECT_EQ(dec.decode(tiny, out), DecodeStatus::Invalid);
    EXPECT_EQ(dec.stats().framesInvalid, 1u);
}

TEST(Vp8Codec, BadConfigurationIsAClearError) {
    Vp8Encoder enc;
    auto c = configFor(0, 480, 1'000'000);
    EXPECT_FALSE(enc.init(c));
    EXPECT_NE(enc.error().find("bad VP8 frame size"), std::string::npos);
    I420Frame raw;
    raw.resize(64, 64);
    EXPECT_FALSE(enc.encode(raw.view()));
}
