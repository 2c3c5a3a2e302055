#include "core/cc/goog_cc.hpp"

#include <algorithm>

namespace tincan::cc {
namespace {
constexpr int64_t kAckedWindowUs = 500'000;
constexpr int64_t kMinAckedSpanUs = 100'000;
}  // namespace

CongestionController::CongestionController(Config config)
    : config_(config),
      aimd_({config.minBitrateBps, config.maxBitrateBps, 0.85}, config.startBitrateBps),
      loss_({config.minBitrateBps, config.maxBitrateBps}, config.startBitrateBps) {}

void CongestionController::requestProbe(uint64_t rateBps) {
    rateBps = std::min(rateBps, config_.maxBitrateBps);
    ProbeCluster c;
    c.id = nextProbeId_++;
    c.rateBps = rateBps;
    c.minBytes =
        size_t(double(rateBps) * std::chrono::duration<double>(config_.probeDuration).count() / 8);
    pendingProbes_.push_back(c);
    ProbeRecord rec;
    rec.rateBps = rateBps;
    rec.minPackets = c.minPackets;
    probes_[c.id] = rec;
    while (probes_.size() > 16) probes_.erase(probes_.begin());
}

std::optional<ProbeCluster> CongestionController::pollProbe() {
    if (pendingProbes_.empty()) return std::nullopt;
    ProbeCluster c = pendingProbes_.front();
    pendingProbes_.pop_front();
    return c;
}

void CongestionController::onPacketSent(const SentPacket& packet) {
    if (!probingStarted_ && config_.initialProbing) {
        // libwebrtc's initial exponential probes: 3× and 6× the start rate.
        probingStarted_ = true;
        requestProbe(3 * config_.startBitrateBps);
        requestProbe(6 * config_.startBitrateBps);
    }
    adapter_.onPacketSent(packet);
}

void CongestionController::onRemb(Timestamp, uint64_t bitrateBps) {
    rembBps_ = bitrateBps;
}

void CongestionController::onRtt(Duration rtt) {
    aimd_.setRtt(rtt);
    loss_.setRtt(rtt);
}

uint64_t CongestionController::targetBitrateBps() const {
    uint64_t t = std::min(aimd_.estimateBps(), loss_.estimateBps());
    if (rembBps_) t = std::min(t, *rembBps_);
    return std::clamp(t, config_.minBitrateBps, config_.maxBitrateBps);
}

void CongestionController::updateAcked(const PacketResult& r) {
    const int64_t t = *r.arrivalTimeUs;
    ackedWindow_.emplace_back(t, r.sizeBytes);
    ackedWindowBytes_ += r.sizeBytes;
    while (!ackedWindow_.empty() && ackedWindow_.front().first < t - kAckedWindowUs) {
        ackedWindowBytes_ -= ackedWindow_.front().second;
        ackedWindow_.pop_front();
    }
    const int64_t span = t - ackedWindow_.front().first;
    if (span >= kMinAckedSpanUs) {
        // The first packet's bytes arrived before the window's start instant.
        ackedBps_ =
            uint64_t(double(ackedWindowBytes_ - ackedWindow_.front().second) * 8e6 / double(span));
    }
}

void CongestionController::onProbeResults(Timestamp now, const std::vector<PacketResult>& results) {
    for (const auto& r : results) {
        if (r.probeClusterId == kNoProbe || !r.arrivalTimeUs) continue;
        auto it = probes_.find(r.probeClusterId);
        if (it == probes_.end() || it->second.done) continue;
        ProbeRecord& p = it->second;
        ++p.received;
        p.bytes += r.sizeBytes;
        if (!p.firstArrivalUs || *r.arrivalTimeUs < *p.firstArrivalUs) {
            p.firstArrivalUs = *r.arrivalTimeUs;
            p.firstBytes = r.sizeBytes;
        }
        if (!p.lastArrivalUs || *r.arrivalTimeUs > *p.lastArrivalUs)
            p.lastArrivalUs = *r.arrivalTimeUs;
        if (!p.firstSend || r.sendTime < *p.firstSend) p.firstSend = r.sendTime;
        if (!p.lastSend || r.sendTime >= *p.lastSend) {
            p.lastSend = r.sendTime;
            p.lastBytes = r.sizeBytes;
        }
    }
    for (auto& [id, p] : probes_) {
        if (p.done || p.received < p.minPackets) continue;
        p.done = true;
        const double sendS = std::chrono::duration<double>(*p.lastSend - *p.firstSend).count();
        const double recvS = double(*p.lastArrivalUs - *p.firstArrivalUs) / 1e6;
        if (sendS <= 0 || recvS <= 0) continue;
        const double sendBps = double(p.bytes - p.lastBytes) * 8 / sendS;
        const double recvBps = double(p.bytes - p.firstBytes) * 8 / recvS;
        // A receive rate clearly under the send rate means the probe hit the link's capacity.
        const double result = recvBps < 0.9 * sendBps ? 0.95 * recvBps : std::min(sendBps, recvBps);
        ++stats_.probeResults;
        if (result > double(aimd_.estimateBps())) {
            aimd_.setEstimate(now, uint64_t(result));
            loss_.setEstimate(std::max(loss_.estimateBps(), uint64_t(result)));
        }
        // Still below the probe's rate by little: the link may hold more, probe higher.
        if (result >= 0.7 * double(p.rateBps) && 2 * uint64_t(result) < config_.maxBitrateBps)
            requestProbe(2 * uint64_t(result));
    }
}

void CongestionController::onTransportFeedback(Timestamp now, const rtp::TransportFeedback& fb) {
    std::vector<PacketResult> results = adapter_.onFeedback(fb);
    if (results.empty()) return;
    ++stats_.feedbacks;
    size_t lost = 0;
    std::vector<const PacketResult*> received;
    received.reserve(results.size());
    for (const auto& r : results) {
        if (r.arrivalTimeUs)
            received.push_back(&r);
        else
            ++lost;
    }
    stats_.packetsReported += results.size();
    stats_.packetsLost += lost;
    // §5.2: the delay filter sees packets in arrival order.
    std::stable_sort(received.begin(), received.end(), [](const auto* a, const auto* b) {
        return *a->arrivalTimeUs < *b->arrivalTimeUs;
    });
    for (const auto* r : received) {
        updateAcked(*r);
        if (auto d = interArrival_.onPacket(r->sendTime, *r->arrivalTimeUs)) trendline_.update(*d);
    }
    onProbeResults(now, results);

    const BandwidthUsage usage = trendline_.state();
    if (usage == BandwidthUsage::Overusing) {
        ++stats_.overuseSignals;
        if (!ackedBps_ || aimd_.timeToReduceFurther(now, *ackedBps_))
            aimd_.update(now, usage, ackedBps_);
    } else {
        aimd_.update(now, usage, ackedBps_);
    }
    loss_.onPackets(now, lost, results.size());
    loss_.capAt(aimd_.estimateBps());
}

}  // namespace tincan::cc
