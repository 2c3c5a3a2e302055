#include "media/video/video_frame_buffer.hpp"

#include <algorithm>

namespace tincan::media {

VideoFrameBuffer::VideoFrameBuffer(const VideoFrameBufferConfig& config) : config_(config) {
    frames_.reserve(config_.maxFrames + 1);
}

void VideoFrameBuffer::insert(Timestamp now, AssembledFrame&& f) {
    ++stats_.framesInserted;
    if (started_ && f.lastSeq <= lastLastSeq_) {
        ++stats_.framesLate;
        return;
    }
    const auto at =
        std::lower_bound(frames_.begin(), frames_.end(), f.firstSeq,
                         [](const AssembledFrame& a, int64_t s) { return a.firstSeq < s; });
    if (at != frames_.end() && at->firstSeq == f.firstSeq) {
        ++stats_.framesLate;  // the same frame twice
        return;
    }
    frames_.insert(at, std::move(f));
    if (frames_.size() > config_.maxFrames) {
        frames_.erase(frames_.begin());
        ++stats_.framesOverflow;
    }
    (void)now;
}

bool VideoFrameBuffer::decodable(const AssembledFrame& f) const {
    // A keyframe needs nothing, but one right after a gap still waits a little for the frames
    // of the gap, which may be only reordered.
    if (f.keyframe) return !started_ || waitingForKeyframe_ || follows(f);
    if (waitingForKeyframe_ || !started_) return false;
    return follows(f);
}

bool VideoFrameBuffer::follows(const AssembledFrame& f) const {
    const bool temporal = f.tl0PicIdx >= 0 && f.temporalId >= 0 && lastTl0_ >= 0;
    if (temporal) {
        // RFC 7741 §4.2: a base-layer frame follows the previous base-layer frame; a layer-sync
        // frame above it depends only on its own base frame.
        if (f.temporalId == 0) return f.tl0PicIdx == ((lastTl0_ + 1) & 0xFF);
        if (f.layerSync) return f.tl0PicIdx == lastTl0_;
    }
    if (f.pictureId >= 0 && lastPictureId_ >= 0) {
        const int mask = f.pictureId > 0x7F || lastPictureId_ > 0x7F ? 0x7FFF : 0x7F;
        return f.pictureId == ((lastPictureId_ + 1) & mask);
    }
    return f.firstSeq == lastLastSeq_ + 1;
}

void VideoFrameBuffer::release(const AssembledFrame& f) {
    started_ = true;
    lastLastSeq_ = f.lastSeq;
    lastPictureId_ = f.pictureId;
    if (f.tl0PicIdx >= 0 && (f.temporalId <= 0 || f.keyframe)) lastTl0_ = f.tl0PicIdx;
    if (f.keyframe) waitingForKeyframe_ = requested_ = false;
    ++stats_.framesReleased;
}

void VideoFrameBuffer::startKeyframeWait(Timestamp now) {
    waitingForKeyframe_ = true;
    requested_ = true;
    requestPending_ = true;
    lastRequest_ = now;
    ++stats_.keyframeRequests;
}

void VideoFrameBuffer::requestKeyframe(Timestamp now) {
    if (!waitingForKeyframe_ || !requested_) startKeyframeWait(now);
}

std::optional<AssembledFrame> VideoFrameBuffer::pollDecodable(Timestamp now) {
    handleTimeout(now);
    if (frames_.empty()) return std::nullopt;
    if (!decodable(frames_.front())) {
        // A complete keyframe behind the gap: skip to it instead of waiting.
        auto key = std::find_if(frames_.begin(), frames_.end(),
                                [](const AssembledFrame& f) { return f.keyframe; });
        // Skip only once the gap has had time to fill by reordering, or when the keyframe is
        // the one we asked for.
        if (!blockedSince_) blockedSince_ = now;
        if (key == frames_.end() ||
            (!waitingForKeyframe_ && now - *blockedSince_ < config_.reorderWait))
            return std::nullopt;
        stats_.framesSkipped += uint64_t(key - frames_.begin());
        frames_.erase(frames_.begin(), key);
    }
    blockedSince_.reset();
    AssembledFrame f = std::move(frames_.front());
    frames_.erase(frames_.begin());
    release(f);
    return f;
}

void VideoFrameBuffer::dropUntilKeyframe() {
    const auto keep = std::find_if(frames_.begin(), frames_.end(),
                                   [](const AssembledFrame& f) { return f.keyframe; });
    stats_.framesSkipped += uint64_t(keep - frames_.begin());
    frames_.erase(frames_.begin(), keep);
}

void VideoFrameBuffer::handleTimeout(Timestamp now) {
    if (!frames_.empty() && !decodable(frames_.front()) && !blockedSince_) blockedSince_ = now;
    if (blockedSince_ && now - *blockedSince_ >= config_.nackWait) {
        // The gap will not fill: drop what cannot decode and ask for a fresh start.
        dropUntilKeyframe();
        blockedSince_.reset();
        if (!frames_.empty())
            waitingForKeyframe_ = true;  // a buffered keyframe restarts decoding
        else if (!waitingForKeyframe_ || !requested_)
            startKeyframeWait(now);
    }
    if (waitingForKeyframe_ && requested_) {
        if (now - lastRequest_ >= config_.keyframeRetry) {
            requestPending_ = true;
            lastRequest_ = now;
            ++stats_.keyframeRequests;
        }
        dropUntilKeyframe();  // delta frames would only pile up
    }
}

std::optional<Timestamp> VideoFrameBuffer::pollTimeout() const {
    if (waitingForKeyframe_ && requested_) return lastRequest_ + config_.keyframeRetry;
    if (blockedSince_) return *blockedSince_ + config_.reorderWait;
    return std::nullopt;
}

bool VideoFrameBuffer::takeKeyframeRequest() {
    const bool r = requestPending_;
    requestPending_ = false;
    return r;
}

}  // namespace tincan::media
