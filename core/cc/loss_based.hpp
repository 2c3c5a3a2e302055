// The loss-based half of Google Congestion Control (draft-ietf-rmcat-gcc-02 §6): over each
// batch of at least `minPackets` reported packets, loss above 10 % lowers the rate by half the
// loss fraction, loss under 2 % raises it by 5 %, anything between holds it. Decreases come at
// most once per (300 ms + RTT), as libwebrtc spaces them, so one loss burst counts once.
#pragma once

#include <cstdint>
#include <optional>

#include "core/common/time.hpp"

namespace tincan::cc {

class LossBasedBwe {
public:
    struct Config {
        uint64_t minBitrateBps = 30'000;
        uint64_t maxBitrateBps = 20'000'000;
        size_t minPackets = 20;
        double lowLoss = 0.02;
        double highLoss = 0.10;
    };
    LossBasedBwe(Config config, uint64_t startBitrateBps);

    // Packets reported in one feedback. Returns the estimate (changed or not).
    uint64_t onPackets(Timestamp now, size_t lost, size_t total);
    void setRtt(Duration rtt) { rtt_ = rtt; }
    // Probe results and caps from the delay-based side move it directly.
    void setEstimate(uint64_t bitrateBps);
    void capAt(uint64_t bitrateBps);
    uint64_t estimateBps() const { return estimate_; }
    std::optional<double> lastLossFraction() const { return lastLoss_; }

private:
    Config config_;
    uint64_t estimate_;
    size_t lost_ = 0;
    size_t total_ = 0;
    std::optional<Timestamp> lastDecrease_;
    std::optional<double> lastLoss_;
    Duration rtt_ = 200ms;
};

}  // namespace tincan::cc
