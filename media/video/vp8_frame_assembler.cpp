#include "media/video/vp8_frame_assembler.hpp"

#include <algorithm>

namespace tincan::media {

Vp8FrameAssembler::Vp8FrameAssembler(const FrameAssemblerConfig& config)
    : config_(config), slots_(std::max<size_t>(config.slots, 64)) {
    missing_.reserve(slots_.size());
    missingWire_.reserve(slots_.size());
}

bool Vp8FrameAssembler::recentlyDropped(uint32_t ts) const {
    const size_t n = std::min(droppedCount_, dropped_.size());
    return std::find(dropped_.begin(), dropped_.begin() + long(n), ts) !=
           dropped_.begin() + long(n);
}

void Vp8FrameAssembler::reset() {
    for (auto& s : slots_) s.state = SlotState::Free;
    missing_.clear();
    stored_ = 0;
    highest_ = -1;
}

void Vp8FrameAssembler::advanceTo(Timestamp now, int64_t seq) {
    for (int64_t u = highest_ + 1; u <= seq; ++u) {
        Slot& s = slot(u);
        if (s.state == SlotState::Stored) --stored_;  // a stale packet leaves the window
        if (s.state == SlotState::Missing && s.seq != u)
            missing_.erase(std::remove(missing_.begin(), missing_.end(), s.seq), missing_.end());
        s.seq = u;
        s.state = SlotState::Free;
        if (u < seq) {
            s.state = SlotState::Missing;
            s.time = now;
            missing_.push_back(u);
        }
    }
    highest_ = seq;
}

void Vp8FrameAssembler::insert(Timestamp now, const VideoPacketIn& p) {
    ++stats_.packetsReceived;
    const auto desc = parseVp8Descriptor(p.payload);
    if (!desc) {
        ++stats_.packetsMalformed;
        return;
    }
    const ByteView vp8 = p.payload.subspan(desc->size);
    std::optional<Vp8PayloadHeader> header;
    if (desc->startsFrame()) {
        header = parseVp8PayloadHeader(vp8);
        if (!header) {
            ++stats_.packetsMalformed;
            return;
        }
    }
    int64_t seq = unwrapper_.unwrap(p.seq) + seqOffset_;
    const int64_t window = int64_t(slots_.size());
    if (highest_ >= 0 && seq <= highest_ - window + 1) {
        // Far behind everything: a straggler, or a sender that restarted its numbering. After a
        // run of them, follow the new numbering, rebased above all seen so far so that frames
        // keep increasing sequence numbers for the frame buffer.
        if (++farBehindRun_ < kRestartRun) {
            ++stats_.packetsLate;
            return;
        }
        const int64_t above = highest_ + window;
        unwrapper_.reset();
        seqOffset_ = above - unwrapper_.unwrap(p.seq);
        seq = above;
        ++stats_.streamResets;
        reset();
        keyframeNeeded_ = true;
    } else {
        farBehindRun_ = 0;
    }
    if (highest_ >= 0 && seq > highest_ + window / 2) {
        // A jump no retransmission can bridge: start afresh from this packet.
        ++stats_.streamResets;
        reset();
        keyframeNeeded_ = true;
    }
    if (highest_ < 0) highest_ = seq - 1;
    if (seq > highest_) advanceTo(now, seq);

    Slot& s = slot(seq);
    if (recentlyDropped(p.rtpTimestamp)) {
        // Part of a frame already given up: too late to help, but no longer missing either.
        if (s.seq == seq && s.state == SlotState::Missing) {
            const auto it = std::lower_bound(missing_.begin(), missing_.end(), seq);
            if (it != missing_.end() && *it == seq) missing_.erase(it);
        }
        if (s.seq != seq || s.state != SlotState::Stored) {
            if (s.state == SlotState::Stored) --stored_;  // a stale occupant
            s.seq = seq;
            s.state = SlotState::Lost;
        }
        ++stats_.packetsLate;
        rebuildMissingWire();
        return;
    }
    if (s.seq == seq) {
        if (s.state == SlotState::Stored || s.state == SlotState::Done) {
            ++stats_.packetsDuplicate;
            return;
        }
        if (s.state == SlotState::Lost) {
            ++stats_.packetsLate;
            return;
        }
        if (s.state == SlotState::Missing) {
            ++stats_.packetsRecovered;
            const auto it = std::lower_bound(missing_.begin(), missing_.end(), seq);
            if (it != missing_.end() && *it == seq) missing_.erase(it);
        }
    } else if (s.state == SlotState::Stored) {
        --stored_;  // stale occupant from before the window
    }
    s.state = SlotState::Stored;
    s.seq = seq;
    s.rtpTimestamp = p.rtpTimestamp;
    s.marker = p.marker;
    s.desc = *desc;
    s.keyframe = header && header->keyframe;
    s.width = header ? header->width : 0;
    s.height = header ? header->height : 0;
    s.time = now;
    s.payload.assign(vp8.begin(), vp8.end());
    ++stored_;
    tryAssemble(seq, now);
    rebuildMissingWire();
}

void Vp8FrameAssembler::tryAssemble(int64_t seq, Timestamp now) {
    const uint32_t ts = slot(seq).rtpTimestamp;
    int64_t first = seq;
    while (!slot(first).desc.startsFrame()) {
        if (!holds(first - 1, SlotState::Stored) || slot(first - 1).rtpTimestamp != ts) return;
        --first;
    }
    int64_t last = seq;
    while (!slot(last).marker) {
        if (!holds(last + 1, SlotState::Stored) || slot(last + 1).rtpTimestamp != ts) return;
        ++last;
    }
    AssembledFrame f;
    if (!pool_.empty()) {
        f.data = std::move(pool_.back());
        pool_.pop_back();
    }
    f.data.clear();
    const Slot& head = slot(first);
    f.rtpTimestamp = ts;
    f.firstSeq = first;
    f.lastSeq = last;
    f.keyframe = head.keyframe;
    f.width = head.width;
    f.height = head.height;
    f.pictureId = head.desc.pictureId;
    f.tl0PicIdx = head.desc.tl0PicIdx;
    f.temporalId = head.desc.temporalId;
    f.layerSync = head.desc.layerSync;
    f.nonReference = head.desc.nonReference;
    f.lastArrival = now;
    for (int64_t u = first; u <= last; ++u) {
        Slot& s = slot(u);
        f.data.insert(f.data.end(), s.payload.begin(), s.payload.end());
        s.state = SlotState::Done;
        --stored_;
    }
    ++stats_.framesAssembled;
    ready_.push_back(std::move(f));
}

void Vp8FrameAssembler::dropFrame(uint32_t ts, int64_t around) {
    if (recentlyDropped(ts)) return;
    for (int64_t u = around; holds(u, SlotState::Stored) && slot(u).rtpTimestamp == ts; --u) {
        slot(u).state = SlotState::Lost;
        --stored_;
    }
    for (int64_t u = around + 1; holds(u, SlotState::Stored) && slot(u).rtpTimestamp == ts; ++u) {
        slot(u).state = SlotState::Lost;
        --stored_;
    }
    dropped_[droppedCount_++ % dropped_.size()] = ts;
    ++stats_.framesDropped;
}

void Vp8FrameAssembler::giveUp(int64_t seq) {
    Slot& s = slot(seq);
    s.state = SlotState::Lost;
    ++stats_.packetsLost;
    // The frames on either side of the hole can no longer complete. Only when a neighbour of
    // the same frame says N (non-reference) do we know no reference was hit.
    bool provenNonReference = false;
    if (holds(seq - 1, SlotState::Stored) && !slot(seq - 1).marker) {
        provenNonReference = slot(seq - 1).desc.nonReference;
        dropFrame(slot(seq - 1).rtpTimestamp, seq - 1);
    }
    if (holds(seq + 1, SlotState::Stored) && !slot(seq + 1).desc.startsFrame()) {
        provenNonReference = provenNonReference || slot(seq + 1).desc.nonReference;
        dropFrame(slot(seq + 1).rtpTimestamp, seq + 1);
    }
    if (!provenNonReference) keyframeNeeded_ = true;
}

void Vp8FrameAssembler::handleTimeout(Timestamp now) {
    size_t done = 0;
    while (done < missing_.size() && slot(missing_[done]).time + config_.nackWait <= now) {
        giveUp(missing_[done]);
        ++done;
    }
    missing_.erase(missing_.begin(), missing_.begin() + long(done));
    if (stored_ > 0 && highest_ >= 0) {
        for (int64_t u = std::max<int64_t>(0, highest_ - int64_t(slots_.size()) + 1); u <= highest_;
             ++u) {
            const Slot& s = slot(u);
            if (s.seq == u && s.state == SlotState::Stored && s.time + config_.maxPacketAge <= now)
                dropFrame(s.rtpTimestamp, u);
        }
    }
    rebuildMissingWire();
}

std::optional<Timestamp> Vp8FrameAssembler::pollTimeout() const {
    std::optional<Timestamp> t;
    if (!missing_.empty())
        t = slots_[size_t(missing_.front()) % slots_.size()].time + config_.nackWait;
    if (stored_ > 0) {
        for (const Slot& s : slots_) {
            if (s.state != SlotState::Stored) continue;
            const Timestamp at = s.time + config_.maxPacketAge;
            if (!t || at < *t) t = at;
        }
    }
    return t;
}

std::optional<AssembledFrame> Vp8FrameAssembler::pollFrame() {
    if (readyHead_ == ready_.size()) return std::nullopt;
    AssembledFrame f = std::move(ready_[readyHead_++]);
    if (readyHead_ == ready_.size()) {
        ready_.clear();
        readyHead_ = 0;
    }
    return f;
}

void Vp8FrameAssembler::recycle(AssembledFrame&& frame) {
    if (pool_.size() < 16) pool_.push_back(std::move(frame.data));
}

bool Vp8FrameAssembler::takeKeyframeNeeded() {
    const bool k = keyframeNeeded_;
    keyframeNeeded_ = false;
    return k;
}

void Vp8FrameAssembler::rebuildMissingWire() {
    missingWire_.clear();
    for (int64_t u : missing_) missingWire_.push_back({uint16_t(u), slot(u).time});
}

}  // namespace tincan::media
