// The video send direction of a call: a source → (VideoAdapter: size and rate) → Vp8Encoder →
// Vp8Packetizer → one OutgoingFrame per encoded frame → the `send` hook (a Track's sendFrame
// in a call, a test's link in unit tests). Runs on its own worker thread.
//
// Sources: the TestPatternSource, paced by the worker itself (sleep_until, no drift), or any
// VideoSource (a camera) that pushes frames from its own thread; the worker encodes the newest
// frame and drops any it could not keep up with (counted).
//
// Capture time is steady_clock in microseconds (what the camera and the test pattern stamp), so
// a receiver in the same process or on the same machine can measure glass-to-glass latency by
// reading the pattern's stamp against its own steady_clock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "media/video/i420_frame.hpp"
#include "media/video/video_adapter.hpp"
#include "media/video/video_source.hpp"
#include "tincan/track.hpp"

namespace tincan::media {

class Vp8Encoder;

struct VideoSendConfig {
    int width = 640;
    int height = 480;
    int fps = 30;
    int startBitrateBps = 800'000;
    // The congestion controller's target is clamped to this range before it reaches the encoder.
    int minBitrateBps = 100'000;
    int maxBitrateBps = 2'500'000;
    size_t maxPayloadSize = 1100;  // RTP payload bytes: fits a 1200-byte MTU with SRTP and headers
    bool adapt = true;             // VideoAdapter picks a smaller size / lower rate when needed
};

struct VideoSendStats {
    uint64_t framesCaptured = 0;
    uint64_t framesEncoded = 0;
    uint64_t keyFramesEncoded = 0;
    uint64_t framesDroppedByEncoder = 0;  // rate control or an encoder error
    uint64_t framesDroppedByAdapter = 0;  // frame-rate reduction
    uint64_t framesDroppedBusy = 0;       // a pushed frame replaced before the worker took it
    uint64_t framesSent = 0;              // the send hook took the frame
    uint64_t framesRefused = 0;           // the send hook returned false (not negotiated yet)
    uint64_t framesNotReady = 0;          // skipped before encoding: the ready hook said no
    uint64_t packetsSent = 0;
    uint64_t bytesSent = 0;  // payload bytes
    uint64_t keyframeRequests = 0;
    int targetBitrateBps = 0;
    int width = 0, height = 0, fps = 0;  // what is being encoded now
    double totalEncodeTimeSeconds = 0;
};

class VideoSendStream {
public:
    using SendHook = std::function<bool(OutgoingFrame frame)>;

    VideoSendStream(const VideoSendConfig& config, SendHook send);
    ~VideoSendStream();  // stop()
    VideoSendStream(const VideoSendStream&) = delete;
    VideoSendStream& operator=(const VideoSendStream&) = delete;

    // Starts the worker with the test pattern at the configured size and rate.
    bool startTestPattern(std::string& error);
    // Starts the worker fed by `source` (started here; it must outlive the stream's stop()).
    bool startSource(VideoSource& source, std::string& error);
    void stop();  // joins the worker; idempotent

    // Any thread.
    void setTargetBitrate(uint32_t bps);
    void requestKeyframe();
    // Replaces the send hook (any thread; the next frame uses it).
    void setSendHook(SendHook send);
    // Camera off (any thread): while paused nothing is captured, encoded or sent (a camera's
    // frames are dropped); the first frame after resuming is a keyframe.
    void setPaused(bool paused);
    bool paused() const { return paused_.load(); }
    // Every captured frame before it is scaled and encoded (a self view); the worker's thread
    // (or, for a push source, the source's), the view valid during the call only. Any thread.
    void setLocalFrameHook(std::function<void(const I420View&)> hook);
    // Optional: false while the hook could not take a frame (a track not negotiated yet); the
    // worker then captures nothing and encodes nothing, and the first frame after is a keyframe.
    void setReadyHook(std::function<bool()> ready);

    VideoSendStats stats() const;
    const VideoSendConfig& config() const { return config_; }

private:
    bool initEncoder(std::string& error);
    void run(bool testPattern);
    void pushFrame(const I420View& frame);  // the source's thread

    VideoSendConfig config_;
    mutable std::mutex mutex_;  // hook, pending frame, stats
    std::condition_variable wake_;
    SendHook send_;
    std::function<void(const I420View&)> localFrame_;
    std::function<bool()> ready_;
    VideoSendStats stats_;
    I420Frame pending_;
    bool havePending_ = false;
    bool stopping_ = false;
    VideoSource* source_ = nullptr;
    std::unique_ptr<Vp8Encoder> encoder_;  // the worker's once started
    std::atomic<int> targetBitrateBps_;
    std::atomic<bool> keyframeRequested_{false};
    std::atomic<bool> paused_{false};
    std::thread worker_;
};

}  // namespace tincan::media
