#include "media/call/track_binding.hpp"

#include "media/call/audio_receive_stream.hpp"
#include "media/call/audio_send_stream.hpp"
#include "media/call/video_receive_stream.hpp"
#include "media/call/video_send_stream.hpp"

namespace tincan::media {

void bindTrack(const std::shared_ptr<Track>& track, const TrackStreams& streams,
               TrackEvents events) {
    const bool video = track->kind() == MediaKind::Video;
    std::weak_ptr<Track> weakTrack = track;
    std::weak_ptr<VideoSendStream> videoSend = video ? streams.videoSend : nullptr;
    std::weak_ptr<VideoReceiveStream> videoReceive = video ? streams.videoReceive : nullptr;
    std::weak_ptr<AudioSendStream> audioSend = video ? nullptr : streams.audioSend;
    std::weak_ptr<AudioReceiveStream> audioReceive = video ? nullptr : streams.audioReceive;

    auto sendFrame = [weakTrack](OutgoingFrame frame) {
        auto t = weakTrack.lock();
        return t && t->sendFrame(std::move(frame));
    };
    auto reportStats = [weakTrack](const ReceivedMediaStats& s) {
        if (auto t = weakTrack.lock()) t->reportReceivedStats(s);
    };
    if (auto s = videoSend.lock()) {
        s->setSendHook(sendFrame);
        // Nothing is encoded before the track can send (no keyframes thrown away meanwhile).
        s->setReadyHook([weakTrack] {
            auto t = weakTrack.lock();
            return t && t->sending();
        });
    }
    auto reportSource = [weakTrack](const CapturedMediaStats& s) {
        if (auto t = weakTrack.lock()) t->reportSourceStats(s);
    };
    if (auto s = videoSend.lock()) s->setSourceStatsHook(reportSource);
    if (auto s = audioSend.lock()) {
        s->setSendHook(sendFrame);
        s->setSourceStatsHook(reportSource);
        // Negotiated before the binding (a re-bind): the peer's fmtp applies at once.
        if (auto codec = track->codec()) s->applyPeerFmtp(codec->fmtp);
    }
    if (auto s = videoReceive.lock()) {
        s->setRequestKeyframeHook([weakTrack] {
            if (auto t = weakTrack.lock()) t->requestKeyframe();
        });
        s->setStatsHook(reportStats);
    }
    if (auto s = audioReceive.lock()) s->setStatsHook(reportStats);

    Track::Callbacks cb;
    // The codec's fmtp is the peer's (its wishes for what we send): Opus DTX, FEC, stereo, rate.
    cb.onNegotiated = [audioSend, onNegotiated = events.onNegotiated](const RtpCodec& codec) {
        if (auto s = audioSend.lock()) s->applyPeerFmtp(codec.fmtp);
        if (onNegotiated) onNegotiated(codec);
    };
    cb.onEnded = events.onEnded;
    cb.onPacket = [videoReceive, audioReceive](const RtpPacketIn& p) {
        if (auto s = videoReceive.lock()) s->onPacket(p);
        if (auto s = audioReceive.lock()) s->onPacket(p);
    };
    cb.onKeyframeRequest = [videoSend] {
        if (auto s = videoSend.lock()) s->requestKeyframe();
    };
    cb.onTargetBitrate = [videoSend, audioSend](uint32_t bps) {
        if (auto s = videoSend.lock()) s->setTargetBitrate(bps);
        if (auto s = audioSend.lock()) s->setTargetBitrate(bps);
    };
    track->setCallbacks(std::move(cb));
}

void unbindTrack(const std::shared_ptr<Track>& track, const TrackStreams& streams) {
    track->setCallbacks({});
    const bool video = track->kind() == MediaKind::Video;
    if (video && streams.videoSend) {
        streams.videoSend->setSendHook({});
        streams.videoSend->setReadyHook({});
        streams.videoSend->setSourceStatsHook({});
    }
    if (video && streams.videoReceive) {
        streams.videoReceive->setRequestKeyframeHook({});
        streams.videoReceive->setStatsHook({});
    }
    if (!video && streams.audioSend) {
        streams.audioSend->setSendHook({});
        streams.audioSend->setSourceStatsHook({});
    }
    if (!video && streams.audioReceive) streams.audioReceive->setStatsHook({});
}

}  // namespace tincan::media
