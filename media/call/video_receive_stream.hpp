// The video receive direction of a call: RTP packets from the network thread → a bounded queue
// → (worker thread) Vp8FrameAssembler → VideoFrameBuffer → Vp8Decoder → the frame hook and an
// optional Y4M recording. Keyframe needs (a loss in a reference frame, a decoder that lost its
// reference, joining mid-stream) go out through the `requestKeyframe` hook, at most once per
// `keyframeRequestInterval`. The assembler and frame buffer are sans-IO; the worker owns their
// clock (steady_clock) and sleeps until their pollTimeout() deadlines.
//
// When a decoded frame carries the test pattern (media/video/test_pattern.hpp), its counter and
// capture time are read back: frames in and out of order, counter gaps, and glass-to-glass
// latency = now − capture time. Both ends use steady_clock, which is one clock only within one
// machine: the latency figures mean something only when sender and receiver run on the same host
// (tests, `tincan-cli call` on loopback); otherwise they are left out (out of range, counted).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/common/bytes.hpp"
#include "core/common/time.hpp"
#include "media/video/i420_frame.hpp"
#include "media/video/test_pattern.hpp"
#include "media/video/y4m.hpp"
#include "tincan/track.hpp"

namespace tincan::media {

struct VideoReceiveConfig {
    size_t maxQueuedPackets = 2048;  // between the network thread and the worker; beyond: dropped
    Duration keyframeRequestInterval = 250ms;
    Duration statsInterval = 1s;
    Duration longFreeze = 500ms;  // gaps longer than this count in longFreezeCount
    std::string recordPath;       // a .y4m file, or empty
    int recordFps = 30;           // written in the Y4M header (the file has no per-frame times)
    // The recording's one size; 0: the first decoded frame's. Frames of another size (the sender
    // adapting to bandwidth) are resampled to it.
    int recordWidth = 0, recordHeight = 0;
    bool readTestPattern = true;
};

struct DecodedFrameInfo {
    uint64_t index = 0;  // 0, 1, 2... in decode order
    bool keyframe = false;
    std::optional<TestPatternStamp> stamp;  // when the test pattern was readable
    std::optional<double> latencyMs;        // glass-to-glass, same host only
};

struct VideoReceiveStats {
    ReceivedMediaStats media;  // what Track::reportReceivedStats takes
    uint64_t packetsReceived = 0;
    uint64_t bytesReceived = 0;         // RTP payload bytes
    uint64_t packetsQueueOverflow = 0;  // the worker fell behind: dropped
    uint64_t packetsMalformed = 0;
    uint64_t packetsLost = 0;  // given up by the assembler
    uint64_t decodeErrors = 0;
    uint64_t keyframeRequestsSent = 0;
    // Gaps between decoded frames longer than config.longFreeze (media.freezeCount follows W3C's
    // rule instead: max(3 × average, average + 150 ms), ~183 ms at 30 fps).
    uint64_t longFreezeCount = 0;
    // The test pattern read from decoded frames.
    uint64_t patternFramesRead = 0, patternUnreadable = 0;
    uint64_t framesInOrder = 0, framesOutOfOrder = 0;  // counter above / not above the last one
    uint64_t counterGaps = 0;                          // counters skipped (frames never shown)
    uint32_t lastCounter = 0;
    uint64_t latencySamples = 0, latencyOutOfRange = 0;
    double latencyP50Ms = 0, latencyP95Ms = 0;  // over the last 1024 readable frames
    uint64_t framesRecorded = 0;
    int syncDelayMs = 0;  // the extra delay lip sync asked for
};

// The newest decoded frame, for lip sync (media/call/av_sync.hpp): its RTP timestamp, when its
// first packet arrived, and the ms from then until it was decoded and handed on.
struct VideoTiming {
    uint32_t rtpTimestamp = 0;
    Timestamp arrival{};
    int playoutDelayMs = 0;
};

struct VideoReceiveHooks {
    // Worker thread; the view is valid during the call only.
    std::function<void(const I420View& frame, const DecodedFrameInfo& info)> onFrame{};
    // Worker thread: ask the sender for a keyframe (RTCP PLI).
    std::function<void()> requestKeyframe{};
    // Worker thread, every statsInterval.
    std::function<void(const ReceivedMediaStats& stats)> onStats{};
};

class VideoReceiveStream {
public:
    using Hooks = VideoReceiveHooks;

    explicit VideoReceiveStream(const VideoReceiveConfig& config = {}, Hooks hooks = {});
    ~VideoReceiveStream();  // stop()
    VideoReceiveStream(const VideoReceiveStream&) = delete;
    VideoReceiveStream& operator=(const VideoReceiveStream&) = delete;

    // Opens the recording (if any) and starts the worker; false with `error` when it cannot.
    bool start(std::string& error);
    void stop();  // joins the worker, closes the recording; idempotent

    // Network thread (any thread): copies the packet into the queue and returns.
    void onPacket(const RtpPacketIn& packet);

    // Any thread; replaces a hook (for the track binding).
    void setRequestKeyframeHook(std::function<void()> hook);
    void setStatsHook(std::function<void(const ReceivedMediaStats&)> hook);

    VideoReceiveStats stats() const;

    // Lip sync (any thread): decodable frames wait this much longer before they are decoded
    // and shown (in order; a change applies to the frames released after it).
    void setSyncDelayMs(int ms);
    std::optional<VideoTiming> timing() const;

private:
    struct Queued {
        uint16_t seq = 0;
        uint32_t rtpTimestamp = 0;
        bool marker = false;
        Bytes payload;
    };
    void run();

    VideoReceiveConfig config_;
    mutable std::mutex mutex_;  // queue, pool, hooks, stats
    std::condition_variable wake_;
    Hooks hooks_;
    std::vector<Queued> queue_;
    std::vector<Bytes> pool_;  // payload buffers handed back by the worker
    bool stopping_ = false;
    VideoReceiveStats stats_;
    std::vector<double> latencies_;  // ring of the last kLatencyWindow
    size_t latencyNext_ = 0;
    static constexpr size_t kLatencyWindow = 1024;
    Y4mWriter recorder_;  // the worker's once started
    bool recording_ = false;
    int recordWidth_ = 0, recordHeight_ = 0;
    std::atomic<int> syncDelayMs_{0};
    std::optional<VideoTiming> timing_;  // under mutex_
    std::thread worker_;
};

}  // namespace tincan::media
