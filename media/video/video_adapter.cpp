#include "media/video/video_adapter.hpp"

#include <algorithm>

namespace tincan::media {
namespace {
constexpr int kScaleNum[VideoAdapter::kSteps] = {8, 6, 4, 3, 2};  // eighths of each side
}

VideoAdapter::VideoAdapter(const VideoAdapterConfig& config)
    : config_(config), fps_(config.max.fps) {}

VideoFormat VideoAdapter::formatAt(int step, int fps) const {
    VideoFormat f;
    f.width = std::max(16, config_.max.width * kScaleNum[step] / 8 / 4 * 4);
    f.height = std::max(16, config_.max.height * kScaleNum[step] / 8 / 4 * 4);
    f.fps = fps;
    return f;
}

void VideoAdapter::choose() {
    auto affordable = [&](int step, int fps, double margin) {
        const VideoFormat f = formatAt(step, fps);
        return bitrateBps_ <= 0 ||
               bitrateBps_ >= margin * config_.minBitsPerPixel * f.width * f.height * fps;
    };
    // The largest picture at full rate that the bitrate affords; 20 % hysteresis to step up.
    int step = kSteps - 1;
    for (int s = 0; s < kSteps; ++s) {
        if (affordable(s, config_.max.fps, s < step_ ? 1.2 : 1.0)) {
            step = s;
            break;
        }
    }
    step = std::min(kSteps - 1, step + cpuSteps_);
    int fps = config_.max.fps;
    // Even the smallest picture is too dear: lower the frame rate down to minFps.
    while (fps > config_.minFps && !affordable(step, fps, 1.0))
        fps = std::max(config_.minFps, fps * 2 / 3);
    step_ = step;
    fps_ = fps;
}

void VideoAdapter::onTargetBitrate(int bps) {
    bitrateBps_ = bps;
    choose();
}

void VideoAdapter::onFrameEncoded(int64_t encodeTimeUs) {
    encodeUsAvg_ =
        encodeUsAvg_ == 0 ? double(encodeTimeUs) : 0.9 * encodeUsAvg_ + 0.1 * double(encodeTimeUs);
    if (++framesSinceCpuStep_ < config_.cpuCooldownFrames) return;
    const double share = encodeUsAvg_ * fps_ / 1e6;
    if (share > config_.cpuHighShare && step_ < kSteps - 1)
        ++cpuSteps_;
    else if (share < config_.cpuLowShare && cpuSteps_ > 0)
        --cpuSteps_;
    else
        return;
    framesSinceCpuStep_ = 0;
    encodeUsAvg_ = 0;  // a new size has a new cost: measure afresh
    choose();
}

VideoFormat VideoAdapter::format() const {
    return formatAt(step_, fps_);
}

}  // namespace tincan::media
