// LipSync across real streams: a tone and the test pattern from one "sender", the audio path
// 150 ms slower than the video path; Sender Report mappings made the way the connection makes
// them (capture time ↔ RTP timestamp of a sent frame). Video must be held back until both play
// what was captured together within ±40 ms. Real threads; waits bounded, never timed.
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "media/call/audio_receive_stream.hpp"
#include "media/call/audio_send_stream.hpp"
#include "media/call/lip_sync.hpp"
#include "media/call/video_receive_stream.hpp"
#include "media/call/video_send_stream.hpp"
#include "tests/media/call/fake_link.hpp"

using namespace tincan;
using namespace tincan::media;
using namespace std::chrono_literals;

namespace {

// Delivers each packet `delay` after it was handed in, on its own thread.
class DelayLine {
public:
    DelayLine(Duration delay, std::function<void(const RtpPacketIn&)> deliver)
        : delay_(delay), deliver_(std::move(deliver)), thread_([this] { run(); }) {}
    ~DelayLine() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }
    void push(const RtpPacketIn& p) {
        std::lock_guard lock(mutex_);
        queue_.push_back({Clock::now() + delay_, p, Bytes(p.payload.begin(), p.payload.end())});
        wake_.notify_all();
    }

private:
    struct Item {
        Timestamp due;
        RtpPacketIn packet;
        Bytes payload;
    };
    void run() {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            if (queue_.empty()) {
                wake_.wait(lock);
                continue;
            }
            if (wake_.wait_until(lock, queue_.front().due, [&] { return stopping_; })) break;
            while (!queue_.empty() && queue_.front().due <= Clock::now()) {
                Item item = std::move(queue_.front());
                queue_.pop_front();
                item.packet.payload = item.payload;
                lock.unlock();
                deliver_(item.packet);
                lock.lock();
            }
        }
    }
    Duration delay_;
    std::function<void(const RtpPacketIn&)> deliver_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Item> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

// The Sender Report's mapping from a sent frame: its capture time on the sender's wall clock
// (steady_clock here: one clock for both streams, which is all lip sync needs) in NTP 32.32.
struct SenderClock {
    std::mutex m;
    std::optional<RemoteSenderClock> clock;
    void note(const OutgoingFrame& f) {
        std::lock_guard lock(m);
        const auto us =
            std::chrono::duration_cast<std::chrono::microseconds>(f.captureTime.time_since_epoch())
                .count();
        RemoteSenderClock c;
        c.ntpTime = (uint64_t(us / 1'000'000) << 32) |
                    (uint64_t(us % 1'000'000) * (uint64_t(1) << 32) / 1'000'000);
        c.rtpTimestamp = f.packets.front().rtpTimestamp;
        clock = c;
    }
    std::optional<RemoteSenderClock> get() {
        std::lock_guard lock(m);
        return clock;
    }
};

}  // namespace

TEST(LipSync, HoldsVideoBackForAudioThatArrives150MsLater) {
    auto audioReceive = std::make_shared<AudioReceiveStream>();
    auto videoReceive = std::make_shared<VideoReceiveStream>();
    SenderClock audioClock, videoClock;
    // The audio path: the send hook → 150 ms → the receiver.
    DelayLine audioPath(150ms, [&](const RtpPacketIn& p) { audioReceive->onPacket(p); });
    uint16_t audioSeq = 0;
    AudioSendStream audioSend({}, [&](OutgoingFrame f) {
        audioClock.note(f);
        RtpPacketIn p;
        p.sequenceNumber = audioSeq++;
        p.rtpTimestamp = f.packets[0].rtpTimestamp;
        p.payload = f.packets[0].payload;
        audioPath.push(p);
        return true;
    });
    test::FakeLink videoLink({}, [&](const RtpPacketIn& p) { videoReceive->onPacket(p); });
    VideoSendConfig vc;
    vc.width = 320;
    vc.height = 240;
    VideoSendStream videoSend(vc, [&](OutgoingFrame f) {
        videoClock.note(f);
        return videoLink.send(std::move(f));
    });
    std::string error;
    ASSERT_TRUE(audioReceive->start(error)) << error;
    ASSERT_TRUE(videoReceive->start(error)) << error;
    ASSERT_TRUE(audioSend.start(error)) << error;
    ASSERT_TRUE(videoSend.startTestPattern(error)) << error;

    LipSync sync(audioReceive, videoReceive);
    // Updates every 100 ms (a call makes one a second) until the two play together.
    const bool converged = test::waitFor(
        [&] {
            sync.update(audioClock.get(), videoClock.get());
            std::this_thread::sleep_for(90ms);
            const auto s = sync.stats();
            return s.updates >= 10 && sync.delays().videoExtraDelayMs >= 120 &&
                   std::abs(s.lastDifferenceMs) <= 40;
        },
        60s);
    videoSend.stop();
    audioSend.stop();
    videoReceive->stop();
    audioReceive->stop();
    const auto s = sync.stats();
    EXPECT_TRUE(converged) << "difference " << s.lastDifferenceMs << " ms, video delay "
                           << sync.delays().videoExtraDelayMs << " ms";
    EXPECT_EQ(sync.delays().audioExtraDelayMs, 0);
    EXPECT_EQ(videoReceive->stats().syncDelayMs, sync.delays().videoExtraDelayMs);
    EXPECT_GT(videoReceive->stats().media.framesDecoded, 30u);
}
