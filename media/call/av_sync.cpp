#include "media/call/av_sync.hpp"

#include <algorithm>
#include <cmath>

namespace tincan::media {

std::optional<double> AvSynchronizer::captureNtpMs(const SyncStreamTiming& s) {
    if (!s.senderNtpTime || !s.latestRtpTimestamp || s.clockRateHz == 0) return std::nullopt;
    // NTP 32.32: whole seconds above, the fraction below (RFC 5905 §6).
    const uint64_t ntp = *s.senderNtpTime;
    const double ntpMs = double(ntp >> 32) * 1000 + double(ntp & 0xFFFFFFFFu) * 1000 / 4294967296.0;
    // The frame is at most half the RTP range away from the report's timestamp (wraps included).
    const auto ticks = int32_t(*s.latestRtpTimestamp - s.senderRtpTimestamp);
    return ntpMs + double(ticks) * 1000 / s.clockRateHz;
}

std::optional<AvSyncDelays> AvSynchronizer::update(const SyncStreamTiming& audio,
                                                   const SyncStreamTiming& video) {
    if (!audio.latestRtpTimestamp || !video.latestRtpTimestamp) {
        ++stats_.noFrames;
        return std::nullopt;
    }
    const auto audioCapture = captureNtpMs(audio), videoCapture = captureNtpMs(video);
    if (!audioCapture || !videoCapture) {
        ++stats_.noMapping;
        return std::nullopt;
    }
    // When each plays on our clock, less when it was captured on the sender's: the offset
    // between the two clocks is the same for both streams and drops out of the difference.
    const double audioPlayMs =
        toMillis(audio.latestArrival.time_since_epoch()) + audio.currentDelayMs - *audioCapture;
    const double videoPlayMs =
        toMillis(video.latestArrival.time_since_epoch()) + video.currentDelayMs - *videoCapture;
    const double diffMs = videoPlayMs - audioPlayMs;  // > 0: video is late, audio must wait
    if (std::abs(diffMs) > config_.maxPlausibleMs) {
        ++stats_.implausible;
        return std::nullopt;
    }
    ++stats_.updates;
    stats_.lastDifferenceMs = diffMs;
    const int n = std::max(1, config_.filterLength);
    averageDiffMs_ = ((n - 1) * averageDiffMs_ + diffMs) / n;
    if (std::abs(averageDiffMs_) < config_.deadBandMs) return std::nullopt;

    const int step = int(std::clamp(std::lround(averageDiffMs_ / 2), long(-config_.maxStepMs),
                                    long(config_.maxStepMs)));
    AvSyncDelays next = delays_;
    if (step > 0) {
        // Video plays late: give back video's extra delay first, then delay audio.
        const int fromVideo = std::min(step, next.videoExtraDelayMs);
        next.videoExtraDelayMs -= fromVideo;
        next.audioExtraDelayMs += step - fromVideo;
    } else {
        const int fromAudio = std::min(-step, next.audioExtraDelayMs);
        next.audioExtraDelayMs -= fromAudio;
        next.videoExtraDelayMs += -step - fromAudio;
    }
    next.audioExtraDelayMs = std::clamp(next.audioExtraDelayMs, 0, config_.maxExtraDelayMs);
    next.videoExtraDelayMs = std::clamp(next.videoExtraDelayMs, 0, config_.maxExtraDelayMs);
    // What this step will change is taken out of the average: it is not measured again.
    averageDiffMs_ -= (delays_.videoExtraDelayMs - next.videoExtraDelayMs) -
                      (delays_.audioExtraDelayMs - next.audioExtraDelayMs);
    if (next == delays_) return std::nullopt;
    delays_ = next;
    ++stats_.changes;
    return delays_;
}

}  // namespace tincan::media
