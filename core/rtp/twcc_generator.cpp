#include "core/rtp/twcc_generator.hpp"

#include <algorithm>

namespace tincan::rtp {
namespace {
int64_t sinceEpochUs(Timestamp t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
int64_t floorDiv(int64_t a, int64_t b) {
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}
}  // namespace

void TwccGenerator::onPacket(Timestamp arrival, uint16_t transportSeq) {
    int64_t seq = unwrapper_.unwrap(transportSeq);
    if (nextToReport_ && seq < *nextToReport_) {
        ++stats_.late;
        return;
    }
    if (!arrivals_.emplace(seq, sinceEpochUs(arrival)).second) {
        ++stats_.duplicates;
        return;
    }
    ++stats_.packets;
    if (!nextToReport_) nextToReport_ = seq;
}

std::optional<Timestamp> TwccGenerator::pollTimeout() const {
    if (arrivals_.empty()) return std::nullopt;
    if (!lastSent_ || flushing_) return Timestamp{};  // now
    return *lastSent_ + config_.interval;
}

std::optional<TransportFeedback> TwccGenerator::pollFeedback(Timestamp now) {
    if (arrivals_.empty() || !nextToReport_) {
        flushing_ = false;
        return std::nullopt;
    }
    if (!flushing_ && lastSent_ && now < *lastSent_ + config_.interval) return std::nullopt;

    // A hole longer than one feedback can describe is skipped: those packets are lost anyway.
    if (arrivals_.begin()->first - *nextToReport_ >= int64_t(config_.maxStatusesPerPacket))
        nextToReport_ = arrivals_.begin()->first;

    constexpr int64_t kTick = TransportFeedback::kDeltaTickUs;
    // A hole longer than one feedback can describe is skipped: those packets are lost anyway.
    if (arrivals_.begin()->first - *nextToReport_ >= int64_t(config_.maxStatusesPerPacket))
        nextToReport_ = arrivals_.begin()->first;

    constexpr int64_t kTicksPerRef = TransportFeedback::kReferenceTimeUnitUs / kTick;
    TransportFeedback fb;
    fb.senderSsrc = config_.senderSsrc;
    fb.mediaSsrc = config_.mediaSsrc;
    fb.baseSequenceNumber = uint16_t(*nextToReport_);
    fb.feedbackCount = feedbackCount_;
    // §3.1: the reference time is that of the first received packet, in 64 ms units; deltas
    // are taken in whole ticks from it, so rounding never accumulates.
    const int64_t firstArrival = arrivals_.begin()->second;
    const int64_t refUnits = floorDiv(firstArrival, TransportFeedback::kReferenceTimeUnitUs);
    int64_t prevTick = refUnits * kTicksPerRef;
    uint32_t ref24 = uint32_t(refUnits) & 0xFFFFFF;
    fb.referenceTime = (ref24 & 0x800000) ? int32_t(ref24 | 0xFF000000) : int32_t(ref24);

    int64_t seq = *nextToReport_;
    auto it = arrivals_.begin();
    while (it != arrivals_.end() && fb.packets.size() < config_.maxStatusesPerPacket) {
        if (it->first != seq) {  // not (yet) received
            fb.packets.push_back({false, 0});
            ++seq;
            continue;
        }
        int64_t tick = floorDiv(it->second, kTick);
        int64_t delta = tick - prevTick;
        if ((delta < -32768 || delta > 32767) && !fb.packets.empty()) break;  // next feedback
        fb.packets.push_back({true, int32_t(std::clamp<int64_t>(delta, -32768, 32767))});
        prevTick = tick;
        ++seq;
        it = arrivals_.erase(it);
    }
    // Trailing "not received" statuses carry nothing the next feedback would not.
    while (!fb.packets.empty() && !fb.packets.back().received) {
        fb.packets.pop_back();
        --seq;
    }
    nextToReport_ = seq;
    flushing_ = !arrivals_.empty();
    lastSent_ = now;
    ++feedbackCount_;
    ++stats_.feedbackSent;
    return fb;
}

}  // namespace tincan::rtp
