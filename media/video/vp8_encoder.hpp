// VP8 encoder (libvpx) tuned for real-time calls: CBR, no lag, error resilient, token partitions,
// threads by resolution, keyframe on request, a target bitrate that can change on every frame
// (the congestion controller's output), and resolution / frame-rate changes on the fly.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "media/video/encoded_frame.hpp"
#include "media/video/i420_frame.hpp"

namespace tincan::media {

struct Vp8EncoderConfig {
    int width = 640;
    int height = 480;
    int fps = 30;
    int targetBitrateBps = 1'000'000;
    // libvpx speed: −6..−8 is fast enough for 720p on these 2 cores (positive values are slower).
    int cpuUsed = -6;
    int maxThreads = 2;           // further capped by the resolution and the core count
    int tokenPartitionsLog2 = 1;  // 2^n token partitions: parallel decode, smaller loss impact
    bool errorResilient = true;   // no entropy carried across frames: survives loss
    int temporalLayers = 1;       // 1, or 2 (every second frame droppable)
    int keyframeIntervalFrames = 3000;
    bool allowFrameDropping = false;  // rate control may skip frames when far over budget
    int minQp = 2;
    int maxQp = 56;
};

struct Vp8EncoderStats {
    uint64_t framesEncoded = 0;
    uint64_t keyframesEncoded = 0;
    uint64_t framesDropped = 0;  // by rate control
    uint64_t bytesEncoded = 0;
    uint64_t qpSum = 0;
    uint64_t reinitializations = 0;  // resolution increases need a fresh encoder
};

class Vp8Encoder {
public:
    Vp8Encoder();
    ~Vp8Encoder();
    Vp8Encoder(const Vp8Encoder&) = delete;
    Vp8Encoder& operator=(const Vp8Encoder&) = delete;

    // False with error() set when libvpx refuses the configuration.
    bool init(const Vp8EncoderConfig& config);

    // Encodes one frame. A frame of another size than configured switches the encoder to it
    // (a keyframe follows). nullopt when rate control dropped the frame or on error (error()).
    std::optional<EncodedVideoFrame> encode(const I420View& frame);

    void requestKeyframe() { keyframeRequested_ = true; }
    void setTargetBitrate(int bps);
    void setFrameRate(int fps);
    bool setResolution(int width, int height);

    const Vp8EncoderConfig& config() const { return config_; }
    const Vp8EncoderStats& stats() const { return stats_; }
    const std::string& error() const { return error_; }
    int threads() const { return threads_; }

    // Threads for a resolution on this machine (the rule init() applies).
    static int threadsFor(int width, int height, int maxThreads, int cores);

private:
    struct Impl;
    bool configure(bool fresh);
    void applyRates();

    std::unique_ptr<Impl> impl_;
    Vp8EncoderConfig config_;
    Vp8EncoderStats stats_;
    Bytes output_;  // reused: the frame's bytes live here until the next encode()
    std::string error_;
    bool keyframeRequested_ = false;
    int threads_ = 1;
    int initWidth_ = 0;
    int initHeight_ = 0;
    uint64_t frameIndex_ = 0;  // since the last keyframe, for the temporal pattern
    int64_t pts_ = 0;
};

}  // namespace tincan::media
