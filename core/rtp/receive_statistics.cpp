#include "core/rtp/receive_statistics.hpp"

#include <algorithm>
#include <cstdlib>

namespace tincan::rtp {

namespace {
constexpr uint32_t kSeqMod = 1u << 16;

int64_t micros(Duration d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}
}  // namespace

ReceiveStatistics::ReceiveStatistics(uint32_t ssrc, Config config) : ssrc_(ssrc), config_(config) {
    if (config_.minSequential == 0) config_.minSequential = 1;
    if (config_.clockRateHz == 0) config_.clockRateHz = 90000;
}

void ReceiveStatistics::initSeq(uint16_t seq) {
    baseSeq_ = seq;
    maxSeq_ = seq;
    badSeq_ = kSeqMod + 1;
    cycles_ = 0;
    received_ = 0;
    receivedPrior_ = 0;
    expectedPrior_ = 0;
}

bool ReceiveStatistics::onPacket(Timestamp arrival, uint16_t seq, uint32_t rtpTimestamp,
                                 bool retransmitted) {
    if (!seen_) {  // §A.1: a new source starts on probation
        seen_ = true;
        firstArrival_ = arrival;
        maxSeq_ = uint16_t(seq - 1);
        probation_ = config_.minSequential;
    }
    const uint16_t udelta = uint16_t(seq - maxSeq_);
    bool inOrder = false;
    if (probation_) {
        if (seq == uint16_t(maxSeq_ + 1)) {
            --probation_;
            maxSeq_ = seq;
            if (probation_ == 0) {
                initSeq(seq);
                inOrder = true;
            }
        } else {
            probation_ = uint16_t(config_.minSequential - 1);
            maxSeq_ = seq;
        }
        if (!inOrder) {
            ++ignored_;
            return false;
        }
    } else if (udelta < kMaxDropout) {
        if (seq < maxSeq_) cycles_ += kSeqMod;  // wrapped
        maxSeq_ = seq;
        inOrder = udelta != 0;
    } else if (udelta <= kSeqMod - kMaxMisorder) {
        // A very large jump: believe it only if the next packet follows it.
        if (seq == badSeq_) {
            initSeq(seq);
            lastTransit_.reset();
            inOrder = true;
        } else {
            badSeq_ = (uint32_t(seq) + 1) & (kSeqMod - 1);
            ++ignored_;
            return false;
        }
    }  // else: duplicate or reordered, counted but not "in order"
    ++received_;

    // §A.8 interarrival jitter, arrival expressed in RTP units of this source's clock.
    if (inOrder && !retransmitted) {
        int64_t arrivalRtp = micros(arrival - firstArrival_) * config_.clockRateHz / 1000000;
        int64_t transit = arrivalRtp - int64_t(rtpTimestamp);
        if (lastTransit_) {
            // Timestamps wrap at 2^32: the difference of two transits is taken modulo 2^32.
            int64_t d = int32_t(uint32_t(transit - *lastTransit_));
            d = std::llabs(d);
            jitterQ4_ = uint32_t(int64_t(jitterQ4_) + d - ((int64_t(jitterQ4_) + 8) >> 4));
        }
        lastTransit_ = transit;
    }
    return true;
}

void ReceiveStatistics::onSenderReport(Timestamp now, uint64_t ntpTime) {
    lastSr_ = {compactNtp(ntpTime), now};
}

ReportBlock ReceiveStatistics::makeReportBlock(Timestamp now) {
    ReportBlock b;
    b.ssrc = ssrc_;
    b.extendedHighestSeq = extendedHighestSeq();
    b.cumulativeLost = int32_t(std::clamp<int64_t>(cumulativeLost(), -0x800000, 0x7FFFFF));
    const uint64_t expectedNow = uint64_t(std::max<int64_t>(expected(), 0));
    const int64_t expectedInterval = int64_t(expectedNow) - int64_t(expectedPrior_);
    const int64_t receivedInterval = int64_t(received_) - int64_t(receivedPrior_);
    expectedPrior_ = expectedNow;
    receivedPrior_ = received_;
    const int64_t lostInterval = expectedInterval - receivedInterval;
    b.fractionLost = (expectedInterval <= 0 || lostInterval <= 0)
                         ? 0
                         : uint8_t(std::min<int64_t>(255, (lostInterval << 8) / expectedInterval));
    b.jitter = jitterRtpUnits();
    if (lastSr_) {
        b.lastSr = lastSr_->first;
        // DLSR in 1/65536 s.
        b.delaySinceLastSr = uint32_t(micros(now - lastSr_->second) * 65536 / 1000000);
    }
    return b;
}

void RttEstimator::onSenderReportSent(Timestamp now, uint64_t ntpTime) {
    sent_.emplace_back(compactNtp(ntpTime), now);
    if (sent_.size() > 32) sent_.pop_front();
}

std::optional<Duration> RttEstimator::onReportBlock(Timestamp now, const ReportBlock& block) {
    if (block.lastSr == 0) return std::nullopt;
    auto it = std::find_if(sent_.begin(), sent_.end(),
                           [&](const auto& s) { return s.first == block.lastSr; });
    if (it == sent_.end()) return std::nullopt;
    auto dlsr = std::chrono::microseconds(int64_t(block.delaySinceLastSr) * 1000000 / 65536);
    Duration rtt = now - it->second - dlsr;
    if (rtt < Duration::zero()) return std::nullopt;
    latest_ = rtt;
    return rtt;
}

std::optional<Duration> rttFromCompactNtp(uint32_t arrival, uint32_t lastSr,
                                          uint32_t delaySinceLastSr) {
    int64_t units = int64_t(int32_t(arrival - lastSr - delaySinceLastSr));
    if (lastSr == 0 || units < 0) return std::nullopt;
    return std::chrono::microseconds(units * 1000000 / 65536);
}

}  // namespace tincan::rtp
