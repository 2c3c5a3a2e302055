#include "media/call/lip_sync.hpp"

#include "media/call/audio_receive_stream.hpp"
#include "media/call/video_receive_stream.hpp"

namespace tincan::media {

LipSync::LipSync(std::weak_ptr<AudioReceiveStream> audio, std::weak_ptr<VideoReceiveStream> video,
                 const AvSyncConfig& config)
    : audio_(std::move(audio)), video_(std::move(video)), sync_(config) {}

void LipSync::update(const std::optional<RemoteSenderClock>& audioClock,
                     const std::optional<RemoteSenderClock>& videoClock) {
    auto audio = audio_.lock();
    auto video = video_.lock();
    if (!audio || !video) return;
    SyncStreamTiming a, v;
    a.clockRateHz = 48000;  // Opus's RTP clock (RFC 7587 §4.1)
    v.clockRateHz = 90000;  // VP8's (RFC 7741 §4.1)
    if (audioClock) {
        a.senderNtpTime = audioClock->ntpTime;
        a.senderRtpTimestamp = audioClock->rtpTimestamp;
    }
    if (videoClock) {
        v.senderNtpTime = videoClock->ntpTime;
        v.senderRtpTimestamp = videoClock->rtpTimestamp;
    }
    if (const auto t = audio->timing()) {
        a.latestRtpTimestamp = t->rtpTimestamp;
        a.latestArrival = t->arrival;
        a.currentDelayMs = t->playoutDelayMs;
    }
    if (const auto t = video->timing()) {
        v.latestRtpTimestamp = t->rtpTimestamp;
        v.latestArrival = t->arrival;
        v.currentDelayMs = t->playoutDelayMs;
    }
    std::optional<AvSyncDelays> changed;
    {
        std::lock_guard lock(mutex_);
        changed = sync_.update(a, v);
    }
    if (!changed) return;
    audio->setSyncDelayMs(changed->audioExtraDelayMs);
    video->setSyncDelayMs(changed->videoExtraDelayMs);
}

AvSyncStats LipSync::stats() const {
    std::lock_guard lock(mutex_);
    return sync_.stats();
}

AvSyncDelays LipSync::delays() const {
    std::lock_guard lock(mutex_);
    return sync_.delays();
}

}  // namespace tincan::media
