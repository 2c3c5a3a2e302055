// The delay-based half of Google Congestion Control (draft-ietf-rmcat-gcc-02 §5), in the
// shape of libwebrtc's goog_cc: packets grouped into 5 ms send bursts (§5.2), a trendline
// (least-squares slope of the smoothed accumulated one-way delay variation) compared with an
// adaptive threshold (§5.4), and an AIMD rate controller (§5.5).
//
// All three are driven by CongestionController (goog_cc.hpp); each is usable alone in tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include "core/common/time.hpp"

namespace tincan::cc {

enum class BandwidthUsage : uint8_t { Normal = 1, Underusing = 2, Overusing = 3 };
const char* toString(BandwidthUsage u);

// §5.2: a group is the packets sent within `burstTime` of its first one. When a group is
// complete, the deltas between it and the previous group are returned.
class InterArrival {
public:
    struct Deltas {
        double sendDeltaMs = 0;
        double arrivalDeltaMs = 0;
        int64_t arrivalTimeUs = 0;  // of the completed group's last packet
    };
    explicit InterArrival(Duration burstTime = 5ms) : burstTime_(burstTime) {}

    // Packets in arrival order. Out-of-order sends (older than the current group) are ignored.
    std::optional<Deltas> onPacket(Timestamp sendTime, int64_t arrivalTimeUs);

private:
    struct Group {
        Timestamp firstSend{};
        Timestamp lastSend{};
        int64_t firstArrivalUs = 0;
        int64_t lastArrivalUs = 0;
    };
    Duration burstTime_;
    std::optional<Group> current_;
    std::optional<Group> previous_;
};

// §5.3/§5.4 as libwebrtc's TrendlineEstimator: a 20-sample window of smoothed accumulated
// delay, its slope, scaled and compared with a threshold that adapts (k_up 0.0087,
// k_down 0.039, 6..600 ms) so that a competing TCP flow does not starve us.
class TrendlineEstimator {
public:
    struct Config {
        size_t windowSize = 20;
        double smoothing = 0.9;
        double thresholdGain = 4.0;
        double initialThresholdMs = 12.5;
        Duration overuseTime = 10ms;  // over the threshold this long (and twice) → Overusing
    };
    TrendlineEstimator() : TrendlineEstimator(Config{}) {}
    explicit TrendlineEstimator(Config config);

    BandwidthUsage update(const InterArrival::Deltas& d);
    BandwidthUsage state() const { return state_; }
    double trend() const { return trend_; }
    double thresholdMs() const { return threshold_; }

private:
    void detect(double trend, double sendDeltaMs, double nowMs);
    void updateThreshold(double modifiedTrend, double nowMs);

    Config config_;
    int numDeltas_ = 0;
    std::optional<double> firstArrivalMs_;
    double accumulatedDelay_ = 0;
    double smoothedDelay_ = 0;
    std::deque<std::pair<double, double>> history_;  // (arrival ms since first, smoothed delay)
    double trend_ = 0;
    double prevTrend_ = 0;
    double threshold_;
    std::optional<double> lastThresholdUpdateMs_;
    double timeOverUsingMs_ = -1;
    int overuseCounter_ = 0;
    BandwidthUsage state_ = BandwidthUsage::Normal;
};

// §5.5 AIMD: Increase (multiplicative 8 %/s while the link capacity is unknown, additive
// about one packet per response time near it), Decrease to 0.85 × the acknowledged rate on
// overuse, Hold on underuse. Never more than 1.5 × acknowledged + 10 kbit/s.
class AimdRateControl {
public:
    struct Config {
        uint64_t minBitrateBps = 30'000;
        uint64_t maxBitrateBps = 20'000'000;
        double beta = 0.85;
    };
    AimdRateControl(Config config, uint64_t startBitrateBps);

    // `ackedBps`: the receive rate the feedback shows, if known yet.
    uint64_t update(Timestamp now, BandwidthUsage usage, std::optional<uint64_t> ackedBps);
    // A probe (or REMB/initial) result: jump there.
    void setEstimate(Timestamp now, uint64_t bitrateBps);
    void setRtt(Duration rtt) { rtt_ = rtt; }
    // libwebrtc's TimeToReduceFurther: one decrease per RTT (10..200 ms), unless the
    // acknowledged rate fell below half the estimate.
    bool timeToReduceFurther(Timestamp now, uint64_t ackedBps) const;
    uint64_t estimateBps() const { return estimate_; }
    std::optional<double> linkCapacityKbps() const { return linkCapacityKbps_; }

private:
    enum class State : uint8_t { Hold = 1, Increase = 2, Decrease = 3 };
    void onLinkCapacitySample(double kbps);

    Config config_;
    uint64_t estimate_;
    State state_ = State::Increase;
    std::optional<Timestamp> lastUpdate_;
    std::optional<Timestamp> lastChange_;
    Duration rtt_ = 200ms;
    std::optional<double> linkCapacityKbps_;
    double linkCapacityVar_ = 0.4;
};

}  // namespace tincan::cc
