#include "core/cc/pacer.hpp"

#include <algorithm>

namespace tincan::cc {

void Pacer::setTargetBitrate(uint64_t bitrateBps) {
    pacingRateBps_ = uint64_t(double(bitrateBps) * config_.pacingFactor);
}

void Pacer::enqueue(Timestamp now, uint64_t id, size_t sizeBytes, PacketKind kind) {
    Item item{id, sizeBytes, kind, now};
    switch (kind) {
        case PacketKind::Audio:
            audio_.push_back(item);
            break;
        case PacketKind::Retransmission:
            rtx_.push_back(item);
            break;
        case PacketKind::Video:
            video_.push_back(item);
            break;
    }
    queuedBytes_ += sizeBytes;
}

void Pacer::startProbe(const ProbeCluster& cluster) {
    probes_.push_back(cluster);
    ++stats_.probeClusters;
}

Duration Pacer::oldestQueueTime(Timestamp now) const {
    std::optional<Timestamp> oldest;
    for (const auto* q : {&audio_, &rtx_, &video_})
        if (!q->empty() && (!oldest || q->front().enqueuedAt < *oldest))
            oldest = q->front().enqueuedAt;
    return oldest ? now - *oldest : Duration::zero();
}

uint64_t Pacer::effectiveRateBps() const {
    const double maxQueueS = std::chrono::duration<double>(config_.maxQueueTime).count();
    const auto drainRate = uint64_t(double(queuedBytes_) * 8 / maxQueueS);
    return std::max(pacingRateBps_, drainRate);
}

void Pacer::drainBudget(Timestamp now) {
    if (lastDrain_ && now > *lastDrain_) {
        const double dt = std::chrono::duration<double>(now - *lastDrain_).count();
        debtBytes_ = std::max(0.0, debtBytes_ - dt * double(effectiveRateBps()) / 8);
    }
    lastDrain_ = now;
}

std::deque<Pacer::Item>* Pacer::nextQueue() {
    if (!rtx_.empty()) return &rtx_;
    if (!video_.empty()) return &video_;
    return nullptr;
}

PacedSend Pacer::take(std::deque<Item>& q, int probeId) {
    Item item = q.front();
    q.pop_front();
    queuedBytes_ -= item.sizeBytes;
    debtBytes_ += double(item.sizeBytes);
    ++stats_.mediaPackets;
    return PacedSend{PacedSend::Type::Media, item.id, item.sizeBytes, item.kind, probeId};
}

std::optional<PacedSend> Pacer::poll(Timestamp now) {
    drainBudget(now);
    if (!audio_.empty()) return take(audio_, kNoProbe);

    if (!probe_ && !probes_.empty()) {
        probe_ = ActiveProbe{probes_.front(), std::nullopt, 0, 0};
        probes_.pop_front();
    }
    if (probe_) {
        // A probe runs at its own rate: the n-th byte leaves at start + n / rate.
        ActiveProbe& p = *probe_;
        if (!p.start) p.start = now;
        const double elapsed = std::chrono::duration<double>(now - *p.start).count();
        if (double(p.sentBytes) * 8 > elapsed * double(p.cluster.rateBps)) return std::nullopt;
        PacedSend out;
        if (auto* q = nextQueue()) {
            out = take(*q, p.cluster.id);
        } else {
            out = PacedSend{PacedSend::Type::Padding, 0, config_.paddingPacketBytes,
                            PacketKind::Video, p.cluster.id};
            ++stats_.paddingPackets;
            stats_.paddingBytes += out.sizeBytes;
        }
        p.sentBytes += out.sizeBytes;
        ++p.sentPackets;
        if (p.sentBytes >= p.cluster.minBytes && p.sentPackets >= p.cluster.minPackets)
            probe_.reset();
        return out;
    }

    auto* q = nextQueue();
    if (!q || effectiveRateBps() == 0) return std::nullopt;
    // The budget allows a burst of burstInterval at the rate before holding packets back.
    const double burstBytes = double(effectiveRateBps()) / 8 *
                              std::chrono::duration<double>(config_.burstInterval).count();
    if (debtBytes_ > burstBytes) return std::nullopt;
    return take(*q, kNoProbe);
}

std::optional<Timestamp> Pacer::pollTimeout() const {
    if (!audio_.empty()) return Timestamp{};
    if (probe_ || !probes_.empty()) {
        if (!probe_ || !probe_->start) return Timestamp{};
        auto due = std::chrono::duration<double>(double(probe_->sentBytes) * 8 /
                                                 double(probe_->cluster.rateBps));
        return *probe_->start + std::chrono::duration_cast<Duration>(due);
    }
    if (rtx_.empty() && video_.empty()) return std::nullopt;
    const uint64_t rate = effectiveRateBps();
    if (rate == 0) return std::nullopt;
    const double burstBytes =
        double(rate) / 8 * std::chrono::duration<double>(config_.burstInterval).count();
    if (debtBytes_ <= burstBytes || !lastDrain_) return Timestamp{};
    auto wait = std::chrono::duration<double>((debtBytes_ - burstBytes) * 8 / double(rate));
    return *lastDrain_ + std::chrono::duration_cast<Duration>(wait) + 1us;
}

}  // namespace tincan::cc
