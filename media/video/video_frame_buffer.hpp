// Orders complete VP8 frames for the decoder and decides when to give up on a missing one.
//
// A frame is released only when the decoder can use it: a keyframe always; a delta frame when
// the frame it refers to was released — the previous PictureID, or with temporal layers
// (RFC 7741 TL0PICIDX/TID/Y) the previous base-layer frame for a base-layer frame and its own
// base frame for a layer-sync upper-layer frame. A frame that waits on a missing predecessor
// waits at most `nackWait` (time for retransmissions); then the gap is unrecoverable, the
// buffer asks for a keyframe (repeating every `keyframeRetry` until one comes) and releases
// nothing but a keyframe meanwhile. A buffered keyframe behind a gap ends the wait after
// `reorderWait` (at once if it is the keyframe asked for).
// Sans-IO: frames and time in, frames and keyframe requests out.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/common/time.hpp"
#include "media/common/seq_unwrapper.hpp"
#include "media/video/assembled_frame.hpp"

namespace tincan::media {

struct VideoFrameBufferConfig {
    Duration nackWait = 300ms;
    Duration reorderWait = 40ms;  // before skipping a gap to a buffered keyframe
    Duration keyframeRetry = 500ms;
    size_t maxFrames = 60;  // beyond this the oldest frame is dropped
};

struct VideoFrameBufferStats {
    uint64_t framesInserted = 0;
    uint64_t framesReleased = 0;
    uint64_t framesLate = 0;     // older than what was already released: dropped
    uint64_t framesSkipped = 0;  // undecodable after a gap: dropped
    uint64_t framesOverflow = 0;
    uint64_t keyframeRequests = 0;
};

class VideoFrameBuffer {
public:
    explicit VideoFrameBuffer(const VideoFrameBufferConfig& config = {});

    void insert(Timestamp now, AssembledFrame&& frame);
    // The next frame the decoder can take, in order; nullopt when none is ready.
    std::optional<AssembledFrame> pollDecodable(Timestamp now);
    void handleTimeout(Timestamp now);
    std::optional<Timestamp> pollTimeout() const;

    // The decoder failed (corrupt, no reference): stop releasing delta frames until a keyframe.
    void requestKeyframe(Timestamp now);
    // True when a keyframe request (PLI) should go out now; clears the request.
    bool takeKeyframeRequest();
    bool waitingForKeyframe() const { return waitingForKeyframe_; }

    const VideoFrameBufferStats& stats() const { return stats_; }
    size_t size() const { return frames_.size(); }

private:
    bool decodable(const AssembledFrame& f) const;
    bool follows(const AssembledFrame& f) const;  // refers only to what was released
    void release(const AssembledFrame& f);
    void startKeyframeWait(Timestamp now);
    void dropUntilKeyframe();

    VideoFrameBufferConfig config_;
    VideoFrameBufferStats stats_;
    std::vector<AssembledFrame> frames_;  // by firstSeq (send order), few: a sorted vector
    bool started_ = false;
    int64_t lastLastSeq_ = 0;
    int lastPictureId_ = -1;
    int lastTl0_ = -1;  // TL0PICIDX of the last released base-layer frame
    bool waitingForKeyframe_ = true;
    bool requested_ = false;  // a request went out for the current wait
    bool requestPending_ = false;
    Timestamp lastRequest_{};
    std::optional<Timestamp> blockedSince_;
};

}  // namespace tincan::media
