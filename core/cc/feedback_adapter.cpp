#include "core/cc/feedback_adapter.hpp"

namespace tincan::cc {
namespace {
constexpr Duration kHistoryAge = 60s;
constexpr size_t kMaxHistory = 1 << 15;
}  // namespace

void FeedbackAdapter::onPacketSent(const SentPacket& packet) {
    int64_t seq = unwrapper_.unwrap(packet.transportSeq);
    auto [it, inserted] = history_.try_emplace(seq, Record{packet});
    if (!inserted) {
        if (!it->second.reported) outstandingBytes_ -= it->second.packet.sizeBytes;
        it->second = Record{packet};
    }
    outstandingBytes_ += packet.sizeBytes;
    while (!history_.empty() &&
           (history_.size() > kMaxHistory ||
            packet.sendTime - history_.begin()->second.packet.sendTime > kHistoryAge)) {
        if (!history_.begin()->second.reported)
            outstandingBytes_ -= history_.begin()->second.packet.sizeBytes;
        history_.erase(history_.begin());
    }
}

std::vector<PacketResult> FeedbackAdapter::onFeedback(const rtp::TransportFeedback& fb) {
    // The 24-bit reference time wraps (every ~12 days); unwrap it against the last one.
    int64_t ref = fb.referenceTime;
    if (lastReferenceUnits_) {
        int32_t diff = int32_t(uint32_t(ref - *lastReferenceUnits_) << 8) >> 8;
        ref = *lastReferenceUnits_ + diff;
    }
    lastReferenceUnits_ = ref;

    std::vector<PacketResult> out;
    out.reserve(fb.packets.size());
    const int64_t base = unwrapper_.peek(fb.baseSequenceNumber);
    int64_t arrivalUs = ref * rtp::TransportFeedback::kReferenceTimeUnitUs;
    for (size_t i = 0; i < fb.packets.size(); ++i) {
        const auto& status = fb.packets[i];
        if (status.received)
            arrivalUs += int64_t(status.deltaTicks) * rtp::TransportFeedback::kDeltaTickUs;
        auto it = history_.find(base + int64_t(i));
        if (it == history_.end()) {
            ++stats_.unknownSeq;
            continue;
        }
        Record& r = it->second;
        if (r.acked) {
            if (status.received) ++stats_.duplicates;
            continue;
        }
        if (!r.reported) outstandingBytes_ -= r.packet.sizeBytes;
        r.reported = true;
        r.acked = status.received;
        PacketResult res;
        res.seq = it->first;
        res.sendTime = r.packet.sendTime;
        res.sizeBytes = r.packet.sizeBytes;
        res.probeClusterId = r.packet.probeClusterId;
        if (status.received) res.arrivalTimeUs = arrivalUs;
        out.push_back(res);
    }
    return out;
}

}  // namespace tincan::cc
