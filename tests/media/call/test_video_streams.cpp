// VideoSendStream → an in-process link that reorders and loses → VideoReceiveStream, with real
// threads and real time (short runs), and the resampler the two use.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "media/call/i420_scale.hpp"
#include "media/call/video_receive_stream.hpp"
#include "media/call/video_send_stream.hpp"
#include "media/video/test_pattern.hpp"
#include "media/video/y4m.hpp"
#include "tests/media/call/fake_link.hpp"

using namespace tincan;
using namespace tincan::media;
using namespace std::chrono_literals;

namespace {

struct Decoded {
    uint32_t counter = 0;
    bool keyframe = false;
};

std::string tempPath(const std::string& name) {
    return (std::filesystem::temp_directory_path() /
            (name + "-" + std::to_string(::getpid()) + ".y4m"))
        .string();
}

}  // namespace

TEST(I420Scale, PatternStaysReadableAfterResampling) {
    TestPatternSource src(640, 480, 30);
    I420Frame raw, small, big;
    src.generate(raw, 123'456);
    scaleI420(raw.view(), small, 320, 240);
    EXPECT_EQ(small.width, 320);
    EXPECT_EQ(small.captureTimeUs, 123'456);
    auto stamp = readTestPattern(small.view());
    ASSERT_TRUE(stamp);
    EXPECT_EQ(stamp->counter, 0u);
    EXPECT_EQ(stamp->captureTimeUs, 123'456u);
    scaleI420(small.view(), big, 480, 360);
    stamp = readTestPattern(big.view());
    ASSERT_TRUE(stamp);
    EXPECT_EQ(stamp->captureTimeUs, 123'456u);
    // Same size: an exact copy.
    I420Frame same;
    scaleI420(raw.view(), same, 640, 480);
    EXPECT_EQ(same.data, raw.data);
}

TEST(VideoStreams, DecodesInOrderThroughReorderingAndRecoversAfterKeyframeRequest) {
    const std::string y4m = tempPath("tincan-video-streams");
    std::mutex m;
    std::vector<Decoded> decoded;

    VideoReceiveConfig rc;
    rc.recordPath = y4m;
    VideoReceiveStream::Hooks hooks;
    hooks.onFrame = [&](const I420View& v, const DecodedFrameInfo& info) {
        EXPECT_EQ(v.width, 320);
        std::lock_guard lock(m);
        if (info.stamp) decoded.push_back({info.stamp->counter, info.keyframe});
    };
    VideoReceiveStream receive(rc, hooks);

    // Frames 30..38 are lost whole (a burst longer than any retransmission could fill): the
    // frames after them cannot be decoded until the sender, asked by the receiver, sends a
    // keyframe. 20 % of packets arrive after their successor.
    constexpr uint64_t kLostFirst = 30, kLostLast = 38;
    test::FakeLink link(
        {.dropFrame = [](uint64_t f) { return f >= kLostFirst && f <= kLostLast; },
         .dropPacket = {},
         .reorderChance = 0.2},
        [&](const RtpPacketIn& p) { receive.onPacket(p); }, 7);
    VideoSendConfig sc;
    sc.width = 320;
    sc.height = 240;
    sc.fps = 30;
    sc.startBitrateBps = 400'000;
    sc.adapt = false;  // every frame at 320x240, so frame index == pattern counter
    VideoSendStream send(sc, [&](OutgoingFrame f) { return link.send(std::move(f)); });
    receive.setRequestKeyframeHook([&] { send.requestKeyframe(); });

    std::string error;
    ASSERT_TRUE(receive.start(error)) << error;
    ASSERT_TRUE(send.startTestPattern(error)) << error;
    EXPECT_TRUE(test::waitFor(
        [&] {
            std::lock_guard lock(m);
            return !decoded.empty() && decoded.back().counter >= 75;
        },
        15s));
    send.stop();
    receive.stop();

    const VideoReceiveStats rs = receive.stats();
    const VideoSendStats ss = send.stats();
    std::vector<Decoded> d;
    {
        std::lock_guard lock(m);
        d = decoded;
    }
    ASSERT_FALSE(d.empty());
    EXPECT_TRUE(d.front().keyframe);
    EXPECT_EQ(d.front().counter, 0u);
    for (size_t i = 1; i < d.size(); ++i) EXPECT_GT(d[i].counter, d[i - 1].counter) << i;
    // Nothing of the lost burst shows; before it every frame, after it the keyframe first.
    auto after =
        std::find_if(d.begin(), d.end(), [](const Decoded& x) { return x.counter > kLostLast; });
    ASSERT_NE(after, d.end());
    EXPECT_TRUE(after->keyframe);
    EXPECT_EQ(after - d.begin(), ptrdiff_t(kLostFirst)) << "frames 0..29 all decoded";
    EXPECT_GE(rs.keyframeRequestsSent, 1u);
    EXPECT_GE(ss.keyframeRequests, 1u);
    EXPECT_GE(ss.keyFramesEncoded, 2u);
    EXPECT_GE(rs.media.keyFramesDecoded, 2u);
    EXPECT_GT(link.reordered(), 5u);
    EXPECT_GT(link.dropped(), 0u);
    // The stats agree with what the hook saw.
    EXPECT_EQ(rs.media.framesDecoded, d.size());
    EXPECT_EQ(rs.framesInOrder, d.size());
    EXPECT_EQ(rs.framesOutOfOrder, 0u);
    EXPECT_EQ(rs.patternUnreadable, 0u);
    EXPECT_GE(rs.counterGaps, kLostLast - kLostFirst + 1);
    EXPECT_EQ(rs.media.frameWidth, 320u);
    EXPECT_EQ(rs.media.frameHeight, 240u);
    EXPECT_EQ(rs.latencySamples, d.size());  // one machine, one steady_clock
    EXPECT_GT(rs.latencyP50Ms, 0);
    EXPECT_LE(rs.latencyP50Ms, rs.latencyP95Ms);
    EXPECT_GT(rs.media.jitterBufferEmittedCount, 0u);
    EXPECT_GE(rs.media.freezeCount, 1u);  // the keyframe wait is a freeze by W3C's rule
    EXPECT_GE(rs.longFreezeCount, 1u);    // and longer than 500 ms (9 frames + 300 ms wait)
    EXPECT_EQ(ss.framesRefused, 0u);
    EXPECT_EQ(ss.width, 320);

    // The recording holds exactly the decoded frames, readable.
    EXPECT_EQ(rs.framesRecorded, d.size());
    Y4mReader reader;
    ASSERT_TRUE(reader.open(y4m)) << reader.error();
    EXPECT_EQ(reader.width(), 320);
    I420Frame f;
    size_t n = 0;
    while (reader.read(f)) {
        auto stamp = readTestPattern(f.view());
        ASSERT_TRUE(stamp);
        EXPECT_EQ(stamp->counter, d[n].counter);
        ++n;
    }
    EXPECT_EQ(n, d.size());
    std::filesystem::remove(y4m);
}

TEST(VideoStreams, BadConfigurationsAreRefusedWithAReason) {
    VideoSendConfig sc;
    sc.width = 16;
    sc.height = 16;
    VideoSendStream send(sc, [](OutgoingFrame) { return true; });
    std::string error;
    EXPECT_FALSE(send.startTestPattern(error));
    EXPECT_NE(error.find("at least"), std::string::npos) << error;

    VideoReceiveConfig rc;
    rc.recordPath = "/proc/self/cannot-write-here.y4m";
    VideoReceiveStream receive(rc);
    error.clear();
    EXPECT_FALSE(receive.start(error));
    EXPECT_FALSE(error.empty());
}

TEST(VideoStreams, FramesRefusedBeforeNegotiationEndInAKeyframe) {
    // The track refuses frames until it is negotiated; the first frame it takes must be a
    // keyframe, or the receiver would wait for one.
    std::mutex m;
    std::atomic<bool> open{false};
    std::vector<bool> accepted;
    VideoSendConfig sc;
    sc.width = 160;
    sc.height = 120;
    sc.adapt = false;
    VideoSendStream send(sc, [&](OutgoingFrame f) {
        if (!open) return false;
        std::lock_guard lock(m);
        accepted.push_back(f.keyframe);
        return true;
    });
    std::string error;
    ASSERT_TRUE(send.startTestPattern(error)) << error;
    ASSERT_TRUE(test::waitFor([&] { return send.stats().framesRefused >= 5; }, 10s));
    open = true;
    ASSERT_TRUE(test::waitFor(
        [&] {
            std::lock_guard lock(m);
            return accepted.size() >= 5;
        },
        10s));
    send.stop();
    std::lock_guard lock(m);
    EXPECT_TRUE(accepted[0]);
    EXPECT_FALSE(accepted[4]);
}

TEST(VideoStreams, PausedSendsNothingAndResumesWithAKeyframeWhileTheSelfViewSeesEveryFrame) {
    // Camera off: nothing is captured or sent; back on, the peer's decoder gets a keyframe.
    std::mutex m;
    std::vector<bool> sent;  // keyframe flags
    std::atomic<uint64_t> localFrames{0};
    std::atomic<bool> localReadable{true};
    VideoSendConfig sc;
    sc.width = 160;
    sc.height = 120;
    sc.adapt = false;
    VideoSendStream send(sc, [&](OutgoingFrame f) {
        std::lock_guard lock(m);
        sent.push_back(f.keyframe);
        return true;
    });
    send.setLocalFrameHook([&](const I420View& v) {
        if (v.width != 160 || !readTestPattern(v)) localReadable = false;
        ++localFrames;
    });
    std::string error;
    ASSERT_TRUE(send.startTestPattern(error)) << error;
    auto sentCount = [&] {
        std::lock_guard lock(m);
        return sent.size();
    };
    ASSERT_TRUE(test::waitFor([&] { return sentCount() >= 5; }, 10s));
    send.setPaused(true);
    EXPECT_TRUE(send.paused());
    std::this_thread::sleep_for(100ms);  // a frame being encoded as the pause came may still go
    const size_t atPause = sentCount();
    const uint64_t localAtPause = localFrames.load();
    std::this_thread::sleep_for(300ms);  // ~9 frame intervals at 30 fps
    EXPECT_EQ(sentCount(), atPause);
    EXPECT_EQ(localFrames.load(), localAtPause);  // nothing captured either
    send.setPaused(false);
    ASSERT_TRUE(test::waitFor([&] { return sentCount() >= atPause + 3; }, 10s));
    send.stop();
    std::lock_guard lock(m);
    EXPECT_TRUE(sent[atPause]);
    EXPECT_FALSE(sent[atPause + 2]);
    EXPECT_GE(localFrames.load(), sent.size());
    EXPECT_TRUE(localReadable.load());
}

TEST(VideoStreams, RecordingAtAFixedSizeResamplesEveryFrame) {
    const std::string y4m = tempPath("tincan-video-record-size");
    VideoReceiveConfig rc;
    rc.recordPath = y4m;
    rc.recordWidth = 240;
    rc.recordHeight = 180;
    VideoReceiveStream receive(rc);
    test::FakeLink link({}, [&](const RtpPacketIn& p) { receive.onPacket(p); });
    VideoSendConfig sc;
    sc.width = 320;
    sc.height = 240;
    sc.adapt = false;
    VideoSendStream send(sc, [&](OutgoingFrame f) { return link.send(std::move(f)); });
    std::string error;
    ASSERT_TRUE(receive.start(error)) << error;
    ASSERT_TRUE(send.startTestPattern(error)) << error;
    EXPECT_TRUE(test::waitFor([&] { return receive.stats().framesRecorded >= 10; }, 10s));
    send.stop();
    receive.stop();
    Y4mReader reader;
    ASSERT_TRUE(reader.open(y4m)) << reader.error();
    EXPECT_EQ(reader.width(), 240);
    EXPECT_EQ(reader.height(), 180);
    I420Frame f;
    uint32_t expected = 0;
    while (reader.read(f)) {
        auto stamp = readTestPattern(f.view());
        ASSERT_TRUE(stamp);
        EXPECT_EQ(stamp->counter, expected++);
    }
    EXPECT_GE(expected, 10u);
    std::filesystem::remove(y4m);
}

TEST(VideoStreams, MalformedAndExcessPacketsAreDroppedAndCounted) {
    // Not started: nothing drains the queue, so its bound shows.
    VideoReceiveConfig small;
    small.maxQueuedPackets = 4;
    VideoReceiveStream idle(small);
    const uint8_t byte = 0x90;
    RtpPacketIn p;
    p.payload = ByteView(&byte, 1);
    for (int i = 0; i < 10; ++i) {
        p.sequenceNumber = uint16_t(i);
        idle.onPacket(p);
    }
    EXPECT_EQ(idle.stats().packetsReceived, 10u);
    EXPECT_EQ(idle.stats().packetsQueueOverflow, 6u);

    // Started: descriptors cut short (X set and nothing after it) and empty payloads are dropped
    // by the assembler and counted; nothing is decoded.
    VideoReceiveConfig rc;
    rc.statsInterval = 20ms;
    VideoReceiveStream receive(rc);
    std::string error;
    ASSERT_TRUE(receive.start(error)) << error;
    for (int i = 0; i < 8; ++i) {
        p.sequenceNumber = uint16_t(100 + i);
        p.marker = true;
        p.payload = i % 2 ? ByteView() : ByteView(&byte, 1);
        receive.onPacket(p);
    }
    EXPECT_TRUE(test::waitFor([&] { return receive.stats().packetsMalformed >= 8; }, 5s));
    receive.stop();
    EXPECT_EQ(receive.stats().packetsMalformed, 8u);
    EXPECT_EQ(receive.stats().media.framesDecoded, 0u);
}

TEST(VideoStreams, AdapterShrinksThePictureForALowTargetAndGrowsItBack) {
    std::mutex m;
    std::vector<uint32_t> widths;
    VideoSendConfig sc;
    sc.width = 640;
    sc.height = 480;
    sc.startBitrateBps = 100'000;  // 0.011 bit per pixel at 640x480x30: too few
    VideoSendStream send(sc, [&](OutgoingFrame f) {
        std::lock_guard lock(m);
        widths.push_back(f.width);
        return true;
    });
    auto count = [&] {
        std::lock_guard lock(m);
        return widths.size();
    };
    std::string error;
    ASSERT_TRUE(send.startTestPattern(error)) << error;
    ASSERT_TRUE(test::waitFor([&] { return count() >= 5; }, 10s));
    send.setTargetBitrate(50'000'000);  // clamped to maxBitrateBps
    EXPECT_EQ(send.stats().targetBitrateBps, sc.maxBitrateBps);
    EXPECT_TRUE(test::waitFor(
        [&] {
            std::lock_guard lock(m);
            return widths.back() == 640;
        },
        10s));
    send.stop();
    std::lock_guard lock(m);
    EXPECT_LE(widths.front(), 320u);  // half size or less (more if the CPU is short too)
    EXPECT_EQ(widths.back(), 640u);
}

TEST(VideoStreams, NothingIsEncodedUntilReadyThenAKeyframe) {
    std::mutex m;
    std::atomic<bool> ready{false};
    std::vector<bool> sent;
    VideoSendConfig sc;
    sc.width = 160;
    sc.height = 120;
    sc.adapt = false;
    VideoSendStream send(sc, [&](OutgoingFrame f) {
        std::lock_guard lock(m);
        sent.push_back(f.keyframe);
        return true;
    });
    send.setReadyHook([&] { return ready.load(); });
    std::string error;
    ASSERT_TRUE(send.startTestPattern(error)) << error;
    ASSERT_TRUE(test::waitFor([&] { return send.stats().framesNotReady >= 5; }, 10s));
    EXPECT_EQ(send.stats().framesEncoded, 0u);
    ready = true;
    ASSERT_TRUE(test::waitFor(
        [&] {
            std::lock_guard lock(m);
            return sent.size() >= 3;
        },
        10s));
    send.stop();
    std::lock_guard lock(m);
    EXPECT_TRUE(sent[0]);
    EXPECT_FALSE(sent[2]);
}
