#include "core/cc/loss_based.hpp"

#include <algorithm>

namespace tincan::cc {

LossBasedBwe::LossBasedBwe(Config config, uint64_t startBitrateBps)
    : config_(config),
      estimate_(std::clamp(startBitrateBps, config.minBitrateBps, config.maxBitrateBps)) {}

void LossBasedBwe::setEstimate(uint64_t bitrateBps) {
    estimate_ = std::clamp(bitrateBps, config_.minBitrateBps, config_.maxBitrateBps);
}

void LossBasedBwe::capAt(uint64_t bitrateBps) {
    estimate_ =
        std::clamp(std::min(estimate_, bitrateBps), config_.minBitrateBps, config_.maxBitrateBps);
}

uint64_t LossBasedBwe::onPackets(Timestamp now, size_t lost, size_t total) {
    lost_ += lost;
    total_ += total;
    if (total_ < config_.minPackets) return estimate_;
    const double p = double(lost_) / double(total_);
    lastLoss_ = p;
    lost_ = total_ = 0;
    double estimate = double(estimate_);
    if (p < config_.lowLoss) {
        estimate = estimate * 1.05;
    } else if (p > config_.highLoss) {
        if (!lastDecrease_ || now - *lastDecrease_ >= 300ms + rtt_) {
            estimate = estimate * (1 - 0.5 * p);
            lastDecrease_ = now;
        }
    }
    estimate_ = std::clamp(uint64_t(estimate), config_.minBitrateBps, config_.maxBitrateBps);
    return estimate_;
}

}  // namespace tincan::cc
