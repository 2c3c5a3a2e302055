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
//
// replaceSource() / replaceWithTestPattern() are W3C RTCRtpSender.replaceTrack at the media
// level: the feed changes mid-call with no renegotiation; the encoder, packetizer and the track
// stay (same SSRC, sequence numbers and PictureIDs run on, RTP timestamps stay on the capture
// clock), the first frame after the switch is a keyframe, and the encoder follows the new size.
// A source that fails mid-call (a camera unplugged: VideoSource::onError) is left alone from then
// on; the stream falls back to the test pattern when asked (config.fallbackToTestPattern) or
// sends no video, and tells the error hook either way.
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
    bool fallbackToTestPattern = false;  // a source that fails is replaced by the test pattern
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
    uint64_t sourceReplacements = 0;  // replaceSource / replaceWithTestPattern
    uint64_t sourceErrors = 0;        // the source failed mid-call
    uint64_t encoderSizeChanges = 0;  // the encode size followed a new source size
    bool sendingVideo = false;        // a source or the pattern feeds the encoder
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

    // replaceTrack (see above). The new source is started here (false with `error`, and the old
    // feed stays, when it cannot); the old one is stopped here once the new one runs, on the
    // caller's thread. `source` must outlive stop(). Any thread while started.
    bool replaceSource(VideoSource& source, std::string& error);
    // The test pattern at width × height (0: the configured size), e.g. after a camera failed.
    bool replaceWithTestPattern(int width, int height, std::string& error);
    // A source failed (its reason) and whether the test pattern took over; on the thread that
    // reported the failure (the source's). Any thread may set it.
    void setSourceErrorHook(std::function<void(const std::string& reason, bool fellBack)> hook);
    // W3C RTCVideoSourceStats of what the source delivers, about once a second, on the worker's
    // thread. Any thread may set it.
    void setSourceStatsHook(std::function<void(const CapturedMediaStats&)> hook);

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
    void switchedFrom(VideoSource* old);
    enum class Feed : uint8_t { None = 1, TestPattern, Source };
    bool initEncoder(std::string& error);
    void run();
    void attach(VideoSource& source, uint64_t generation);
    // attach() and start; a source that fails to start is detached again.
    bool attachAndStart(VideoSource& source, uint64_t generation, std::string& error);
    void pushFrame(const I420View& frame, uint64_t generation);  // the source's thread
    void onSourceError(const std::string& reason, uint64_t generation);

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
    // What feeds the worker, under mutex_; each switch bumps the generation, and frames or
    // errors from an older generation are ignored.
    Feed feed_ = Feed::None;
    uint64_t generation_ = 0;
    int patternWidth_ = 0, patternHeight_ = 0;
    std::function<void(const std::string&, bool)> onSourceError_;
    std::function<void(const CapturedMediaStats&)> onSourceStats_;
    std::unique_ptr<Vp8Encoder> encoder_;  // the worker's once started
    std::atomic<int> targetBitrateBps_;
    std::atomic<bool> keyframeRequested_{false};
    std::atomic<bool> paused_{false};
    std::thread worker_;
};

}  // namespace tincan::media
