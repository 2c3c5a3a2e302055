// The one place the call streams meet a tincan::Track (include/tincan/track.hpp). The streams
// only know std::function hooks, so they are tested without a connection; this file plugs the
// hooks into a track, and the track's callbacks into the streams:
//
//   send stream  ── OutgoingFrame ──→ track->sendFrame()
//   track: onKeyframeRequest (PLI/FIR) → send stream requestKeyframe()
//   track: onTargetBitrate            → send stream setTargetBitrate()
//   track: onPacket (network thread)  → receive stream onPacket()
//   receive stream: requestKeyframe   → track->requestKeyframe()
//   receive stream: stats (1/s)       → track->reportReceivedStats()
//   send stream: source stats (1/s)   → track->reportSourceStats() (W3C media-source)
//   track: onNegotiated (Opus)        → audio send stream applyPeerFmtp() (DTX, FEC, ...)
//
// Every callback holds weak references, so a track may outlive its streams and vice versa.
#pragma once

#include <functional>
#include <memory>

#include "tincan/track.hpp"

namespace tincan::media {

class VideoSendStream;
class VideoReceiveStream;
class AudioSendStream;
class AudioReceiveStream;

// The streams to attach to one track; any may be null (and those of the other kind are ignored).
struct TrackStreams {
    std::shared_ptr<VideoSendStream> videoSend;
    std::shared_ptr<VideoReceiveStream> videoReceive;
    std::shared_ptr<AudioSendStream> audioSend;
    std::shared_ptr<AudioReceiveStream> audioReceive;
};

// Extra track callbacks for the owner (network thread).
struct TrackEvents {
    std::function<void(const RtpCodec& codec)> onNegotiated{};
    std::function<void()> onEnded{};
};

// Sets the track's callbacks (replacing any) and the streams' Track-facing hooks.
void bindTrack(const std::shared_ptr<Track>& track, const TrackStreams& streams,
               TrackEvents events = {});

// Clears the track's callbacks and the streams' hooks that lead to it.
void unbindTrack(const std::shared_ptr<Track>& track, const TrackStreams& streams);

}  // namespace tincan::media
