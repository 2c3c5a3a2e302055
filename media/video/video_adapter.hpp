// Degradation when bandwidth or CPU run short: picks the resolution and frame rate to encode
// from the target bitrate and the measured encode time. Resolution goes first (a smaller
// picture at full motion), then frame rate. Sans-IO: fed numbers, asked for a format.
#pragma once

#include <cstdint>

namespace tincan::media {

struct VideoFormat {
    int width = 0;
    int height = 0;
    int fps = 0;
    bool operator==(const VideoFormat&) const = default;
};

struct VideoAdapterConfig {
    VideoFormat max{1280, 720, 30};  // what the source gives
    int minFps = 10;
    // Bits per pixel per frame below which a smaller picture looks better than a blurred one.
    double minBitsPerPixel = 0.04;
    // Encode time as a share of the frame interval: above high steps down, below low steps up.
    double cpuHighShare = 0.7;
    double cpuLowShare = 0.3;
    int cpuCooldownFrames = 60;  // frames between two CPU-driven steps
};

class VideoAdapter {
public:
    explicit VideoAdapter(const VideoAdapterConfig& config);

    void onTargetBitrate(int bps);
    void onFrameEncoded(int64_t encodeTimeUs);

    // The format to encode now; width and height are multiples of 4.
    VideoFormat format() const;
    int scaleStep() const { return step_; }  // 0 = full size
    int cpuSteps() const { return cpuSteps_; }

    static constexpr int kSteps = 5;  // 1, 3/4, 1/2, 3/8, 1/4 of each side

private:
    VideoFormat formatAt(int step, int fps) const;
    void choose();

    VideoAdapterConfig config_;
    int bitrateBps_ = 0;
    int step_ = 0;
    int fps_ = 0;
    int cpuSteps_ = 0;  // extra steps down that CPU load asked for
    double encodeUsAvg_ = 0;
    int framesSinceCpuStep_ = 0;
};

}  // namespace tincan::media
