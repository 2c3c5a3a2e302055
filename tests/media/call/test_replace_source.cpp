// VideoSendStream's replaceTrack (replaceSource / replaceWithTestPattern), a source that fails
// mid-call, and the media-source stats: real threads and real time (short runs), bounded by
// waits on counters, never by timing assertions.
#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "media/call/video_receive_stream.hpp"
#include "media/call/video_send_stream.hpp"
#include "tests/media/call/fake_link.hpp"
#include "tests/media/call/fake_video_source.hpp"

using namespace tincan;
using namespace tincan::media;
using namespace std::chrono_literals;

namespace {

struct Sent {
    uint32_t rtpTimestamp = 0;
    bool keyframe = false;
    uint32_t width = 0;
};

// A sender → link → receiver rig that records what went out and what was decoded.
struct Rig {
    std::mutex m;
    std::vector<Sent> sent;
    std::vector<int> decodedWidths;
    std::vector<uint16_t> seqs;
    VideoReceiveStream receive;
    test::FakeLink link;
    VideoSendStream send;

    explicit Rig(VideoSendConfig config)
        : receive({}, {.onFrame =
                           [this](const I420View& v, const DecodedFrameInfo&) {
                               std::lock_guard lock(m);
                               decodedWidths.push_back(v.width);
                           }}),
          link({},
               [this](const RtpPacketIn& p) {
                   {
                       std::lock_guard lock(m);
                       seqs.push_back(p.sequenceNumber);
                   }
                   receive.onPacket(p);
               }),
          send(config, [this](OutgoingFrame f) {
              {
                  std::lock_guard lock(m);
                  sent.push_back({f.packets.front().rtpTimestamp, f.keyframe, f.width});
              }
              return link.send(std::move(f));
          }) {
        std::string error;
        EXPECT_TRUE(receive.start(error)) << error;
    }

    size_t decodedOfWidth(int w) {
        std::lock_guard lock(m);
        return size_t(std::count(decodedWidths.begin(), decodedWidths.end(), w));
    }
};

VideoSendConfig config320() {
    VideoSendConfig c;
    c.width = 320;
    c.height = 240;
    c.fps = 30;
    c.adapt = false;
    return c;
}

}  // namespace

TEST(ReplaceSource, SwitchesSizeMidCallOnOneTimelineWithAKeyframe) {
    test::FakeVideoSource a(320, 240), b(160, 120);  // outlive the stream
    Rig rig(config320());
    std::string error;
    ASSERT_TRUE(rig.send.startSource(a, error)) << error;
    ASSERT_TRUE(test::waitFor([&] { return rig.decodedOfWidth(320) >= 10; }, 20s));
    size_t sentBefore = 0;
    {
        std::lock_guard lock(rig.m);
        sentBefore = rig.sent.size();
    }
    ASSERT_TRUE(rig.send.replaceSource(b, error)) << error;
    ASSERT_TRUE(test::waitFor([&] { return rig.decodedOfWidth(160) >= 10; }, 20s));
    rig.send.stop();
    rig.receive.stop();

    const auto s = rig.send.stats();
    EXPECT_EQ(s.sourceReplacements, 1u);
    EXPECT_GE(s.encoderSizeChanges, 1u);
    EXPECT_EQ(s.width, 160);
    std::lock_guard lock(rig.m);
    // The first frame of the new size is a keyframe; RTP time only moves forward, and by less
    // than a second (90 kHz) anywhere, the switch included.
    size_t firstSmall = 0;
    for (size_t i = sentBefore; i < rig.sent.size(); ++i)
        if (rig.sent[i].width == 160) {
            firstSmall = i;
            break;
        }
    ASSERT_GT(firstSmall, 0u);
    EXPECT_TRUE(rig.sent[firstSmall].keyframe);
    for (size_t i = 1; i < rig.sent.size(); ++i) {
        const auto step = int32_t(rig.sent[i].rtpTimestamp - rig.sent[i - 1].rtpTimestamp);
        EXPECT_GT(step, 0) << "frame " << i;
        EXPECT_LT(step, 90'000) << "frame " << i;
    }
    // Both sizes decoded, in one decoder, with no decode error or keyframe request needed.
    EXPECT_GE(std::count(rig.decodedWidths.begin(), rig.decodedWidths.end(), 320), 10);
    EXPECT_GE(std::count(rig.decodedWidths.begin(), rig.decodedWidths.end(), 160), 10);
    EXPECT_EQ(rig.receive.stats().decodeErrors, 0u);
    // One sequence of RTP packets (the link numbers them as the track would).
    for (size_t i = 1; i < rig.seqs.size(); ++i)
        EXPECT_EQ(uint16_t(rig.seqs[i - 1] + 1), rig.seqs[i]);
}

TEST(ReplaceSource, TestPatternToAnotherSizeAndARefusedSourceKeepsTheOld) {
    test::FakeVideoSource broken(160, 120);
    Rig rig(config320());
    std::string error;
    ASSERT_TRUE(rig.send.startTestPattern(error)) << error;
    ASSERT_TRUE(test::waitFor([&] { return rig.decodedOfWidth(320) >= 5; }, 20s));
    broken.refuseStart();
    EXPECT_FALSE(rig.send.replaceSource(broken, error));
    EXPECT_EQ(error, "fake source refused to start");
    const size_t before = rig.decodedOfWidth(320);
    ASSERT_TRUE(test::waitFor([&] { return rig.decodedOfWidth(320) >= before + 5; }, 20s));
    EXPECT_FALSE(rig.send.replaceWithTestPattern(8, 8, error));  // too small for the pattern
    ASSERT_TRUE(rig.send.replaceWithTestPattern(160, 120, error)) << error;
    ASSERT_TRUE(test::waitFor([&] { return rig.decodedOfWidth(160) >= 5; }, 20s));
    rig.send.stop();
    EXPECT_EQ(rig.send.stats().sourceReplacements, 1u);
}

TEST(SourceError, StopsVideoCleanlyAndSaysSoOnce) {
    test::FakeVideoSource camera(320, 240);
    Rig rig(config320());
    std::mutex m;
    std::vector<std::pair<std::string, bool>> errors;
    rig.send.setSourceErrorHook([&](const std::string& reason, bool fellBack) {
        std::lock_guard lock(m);
        errors.emplace_back(reason, fellBack);
    });
    std::string error;
    ASSERT_TRUE(rig.send.startSource(camera, error)) << error;
    ASSERT_TRUE(test::waitFor([&] { return rig.send.stats().framesEncoded >= 5; }, 20s));
    EXPECT_TRUE(rig.send.stats().sendingVideo);
    camera.fail("camera disconnected");
    camera.fail("camera disconnected");  // reported twice: said once
    ASSERT_TRUE(test::waitFor(
        [&] {
            std::lock_guard lock(m);
            return !errors.empty();
        },
        10s));
    const uint64_t encodedAtError = rig.send.stats().framesEncoded;
    // The source keeps pushing (a half-dead device): none of it is encoded any more.
    const uint64_t pushedAtError = camera.pushed();
    ASSERT_TRUE(test::waitFor([&] { return camera.pushed() >= pushedAtError + 10; }, 10s));
    camera.fail("camera disconnected");
    ASSERT_TRUE(test::waitFor([&] { return camera.pushed() >= pushedAtError + 12; }, 10s));
    const auto s = rig.send.stats();
    EXPECT_LE(s.framesEncoded, encodedAtError + 1);  // one may have been in the encoder
    EXPECT_EQ(s.sourceErrors, 1u);
    EXPECT_FALSE(s.sendingVideo);
    rig.send.stop();  // stops the failed source here, on the owner's thread
    std::lock_guard lock(m);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].first, "camera disconnected");
    EXPECT_FALSE(errors[0].second);
}

TEST(SourceError, FallsBackToTheTestPatternWhenAsked) {
    VideoSendConfig c = config320();
    c.fallbackToTestPattern = true;
    test::FakeVideoSource camera(160, 120);
    Rig rig(c);
    bool fellBack = false;
    std::atomic<int> calls{0};
    rig.send.setSourceErrorHook([&](const std::string&, bool f) {
        fellBack = f;
        ++calls;
    });
    std::string error;
    ASSERT_TRUE(rig.send.startSource(camera, error)) << error;
    ASSERT_TRUE(test::waitFor([&] { return rig.decodedOfWidth(160) >= 5; }, 20s));
    camera.fail("camera error: gone");
    ASSERT_TRUE(test::waitFor([&] { return calls.load() == 1; }, 10s));
    EXPECT_TRUE(fellBack);
    // The pattern at the configured size follows, starting with a keyframe the receiver takes.
    ASSERT_TRUE(test::waitFor([&] { return rig.decodedOfWidth(320) >= 10; }, 20s));
    rig.send.stop();
    EXPECT_TRUE(rig.send.stats().sendingVideo);
    EXPECT_EQ(rig.receive.stats().decodeErrors, 0u);
    EXPECT_EQ(calls.load(), 1);
}

TEST(SourceStats, VideoReportsSizeFramesAndRate) {
    Rig rig(config320());
    std::mutex m;
    std::vector<CapturedMediaStats> reports;
    rig.send.setSourceStatsHook([&](const CapturedMediaStats& s) {
        std::lock_guard lock(m);
        reports.push_back(s);
    });
    std::string error;
    ASSERT_TRUE(rig.send.startTestPattern(error)) << error;
    ASSERT_TRUE(test::waitFor(
        [&] {
            std::lock_guard lock(m);
            return reports.size() >= 2;
        },
        20s));
    rig.send.stop();
    std::lock_guard lock(m);
    EXPECT_EQ(reports.back().width, 320u);
    EXPECT_EQ(reports.back().height, 240u);
    EXPECT_GT(reports.back().frames, reports.front().frames);
    EXPECT_GT(reports.back().framesPerSecond, 0);
    // Never more than the pattern makes in a second (30, plus at most 5 caught up after a stall).
    EXPECT_LE(reports.back().framesPerSecond, 36);
    EXPECT_EQ(reports.back().audioLevel, 0);
}
