#include "core/cc/delay_based.hpp"

#include <algorithm>
#include <cmath>

namespace tincan::cc {
namespace {
double ms(Duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}
}  // namespace

const char* toString(BandwidthUsage u) {
    switch (u) {
        case BandwidthUsage::Normal:
            return "normal";
        case BandwidthUsage::Underusing:
            return "underusing";
        case BandwidthUsage::Overusing:
            return "overusing";
    }
    return "?";
}

std::optional<InterArrival::Deltas> InterArrival::onPacket(Timestamp sendTime,
                                                           int64_t arrivalTimeUs) {
    if (!current_) {
        current_ = Group{sendTime, sendTime, arrivalTimeUs, arrivalTimeUs};
        return std::nullopt;
    }
    if (sendTime < current_->firstSend) return std::nullopt;  // reordered from an older group
    if (sendTime - current_->firstSend <= burstTime_) {
        current_->lastSend = std::max(current_->lastSend, sendTime);
        current_->lastArrivalUs = std::max(current_->lastArrivalUs, arrivalTimeUs);
        return std::nullopt;
    }
    std::optional<Deltas> out;
    if (previous_) {
        Deltas d;
        d.sendDeltaMs = ms(current_->lastSend - previous_->lastSend);
        d.arrivalDeltaMs = double(current_->lastArrivalUs - previous_->lastArrivalUs) / 1000.0;
        d.arrivalTimeUs = current_->lastArrivalUs;
        out = d;
    }
    previous_ = current_;
    current_ = Group{sendTime, sendTime, arrivalTimeUs, arrivalTimeUs};
    return out;
}

TrendlineEstimator::TrendlineEstimator(Config config)
    : config_(config), threshold_(config.initialThresholdMs) {}

BandwidthUsage TrendlineEstimator::update(const InterArrival::Deltas& d) {
    const double deltaMs = d.arrivalDeltaMs - d.sendDeltaMs;
    numDeltas_ = std::min(numDeltas_ + 1, 1000);
    const double arrivalMs = double(d.arrivalTimeUs) / 1000.0;
    if (!firstArrivalMs_) firstArrivalMs_ = arrivalMs;
    accumulatedDelay_ += deltaMs;
    smoothedDelay_ =
        config_.smoothing * smoothedDelay_ + (1 - config_.smoothing) * accumulatedDelay_;
    history_.emplace_back(arrivalMs - *firstArrivalMs_, smoothedDelay_);
    if (history_.size() > config_.windowSize) history_.pop_front();
    if (history_.size() == config_.windowSize) {
        // Least-squares slope of delay over time (§5.3 in libwebrtc's trendline form).
        double sumX = 0, sumY = 0;
        for (const auto& [x, y] : history_) sumX += x, sumY += y;
        const double meanX = sumX / double(history_.size());
        const double meanY = sumY / double(history_.size());
        double num = 0, den = 0;
        for (const auto& [x, y] : history_) {
            num += (x - meanX) * (y - meanY);
            den += (x - meanX) * (x - meanX);
        }
        if (den != 0) trend_ = num / den;
    }
    detect(trend_, d.sendDeltaMs, arrivalMs);
    return state_;
}

void TrendlineEstimator::detect(double trend, double sendDeltaMs, double nowMs) {
    if (numDeltas_ < 2) {
        state_ = BandwidthUsage::Normal;
        return;
    }
    const double modified = std::min(numDeltas_, 60) * trend * config_.thresholdGain;
    if (modified > threshold_) {
        timeOverUsingMs_ = timeOverUsingMs_ < 0 ? sendDeltaMs / 2 : timeOverUsingMs_ + sendDeltaMs;
        ++overuseCounter_;
        if (timeOverUsingMs_ > ms(config_.overuseTime) && overuseCounter_ > 1 &&
            trend >= prevTrend_) {
            timeOverUsingMs_ = 0;
            overuseCounter_ = 0;
            state_ = BandwidthUsage::Overusing;
        }
    } else if (modified < -threshold_) {
        timeOverUsingMs_ = -1;
        overuseCounter_ = 0;
        state_ = BandwidthUsage::Underusing;
    } else {
        timeOverUsingMs_ = -1;
        overuseCounter_ = 0;
        state_ = BandwidthUsage::Normal;
    }
    prevTrend_ = trend;
    updateThreshold(modified, nowMs);
}

void TrendlineEstimator::updateThreshold(double modified, double nowMs) {
    if (!lastThresholdUpdateMs_) lastThresholdUpdateMs_ = nowMs;
    // A spike far over the threshold (a route change, a burst) should not drag it up.
    if (std::fabs(modified) > threshold_ + 15) {
        lastThresholdUpdateMs_ = nowMs;
        return;
    }
    const double k = std::fabs(modified) < threshold_ ? 0.039 : 0.0087;
    const double dt = std::min(nowMs - *lastThresholdUpdateMs_, 100.0);
    threshold_ += k * (std::fabs(modified) - threshold_) * dt;
    threshold_ = std::clamp(threshold_, 6.0, 600.0);
    lastThresholdUpdateMs_ = nowMs;
}

AimdRateControl::AimdRateControl(Config config, uint64_t startBitrateBps)
    : config_(config),
      estimate_(std::clamp(startBitrateBps, config.minBitrateBps, config.maxBitrateBps)) {}

void AimdRateControl::setEstimate(Timestamp now, uint64_t bitrateBps) {
    estimate_ = std::clamp(bitrateBps, config_.minBitrateBps, config_.maxBitrateBps);
    lastChange_ = now;
}

bool AimdRateControl::timeToReduceFurther(Timestamp now, uint64_t ackedBps) const {
    const Duration interval = std::clamp<Duration>(rtt_, 10ms, 200ms);
    if (!lastChange_ || now - *lastChange_ >= interval) return true;
    return ackedBps < estimate_ / 2;
}

void AimdRateControl::onLinkCapacitySample(double kbps) {
    // Exponential average of the rate seen at each overuse, with its normalised variance.
    constexpr double alpha = 0.05;
    if (!linkCapacityKbps_) {
        linkCapacityKbps_ = kbps;
    } else {
        linkCapacityKbps_ = (1 - alpha) * *linkCapacityKbps_ + alpha * kbps;
    }
    const double err = *linkCapacityKbps_ - kbps;
    const double norm = std::max(*linkCapacityKbps_, 1.0);
    linkCapacityVar_ =
        std::clamp((1 - alpha) * linkCapacityVar_ + alpha * err * err / norm, 0.4, 2.5);
}

uint64_t AimdRateControl::update(Timestamp now, BandwidthUsage usage,
                                 std::optional<uint64_t> ackedBps) {
    switch (usage) {
        case BandwidthUsage::Overusing:
            if (state_ != State::Decrease) state_ = State::Decrease;
            break;
        case BandwidthUsage::Normal:
            if (state_ == State::Hold) state_ = State::Increase;
            break;
        case BandwidthUsage::Underusing:
            state_ = State::Hold;
            break;
    }
    const Duration dt = lastUpdate_ ? std::min<Duration>(now - *lastUpdate_, 1s) : Duration::zero();
    lastUpdate_ = now;
    const double dtSeconds = std::chrono::duration<double>(dt).count();

    double estimate = double(estimate_);
    switch (state_) {
        case State::Hold:
            break;
        case State::Increase: {
            if (linkCapacityKbps_) {
                const double dev = std::sqrt(linkCapacityVar_ * *linkCapacityKbps_);
                if (estimate / 1000 > *linkCapacityKbps_ + 3 * dev) linkCapacityKbps_.reset();
            }
            double increase;
            if (linkCapacityKbps_) {
                // Additive: about one 1200-byte packet per response time (RTT + 100 ms).
                const double responseS = std::chrono::duration<double>(rtt_).count() + 0.1;
                increase = std::max(4000.0, 1200.0 * 8 / responseS) * dtSeconds;
            } else {
                increase = std::max(estimate * (std::pow(1.08, dtSeconds) - 1), 1000.0 * dtSeconds);
            }
            double cap = estimate;
            if (ackedBps) cap = std::max(estimate, 1.5 * double(*ackedBps) + 10'000);
            estimate = std::min(estimate + increase, cap);
            if (increase > 0) lastChange_ = now;
            break;
        }
        case State::Decrease: {
            const double base = ackedBps ? double(*ackedBps) : estimate;
            const double decreased = config_.beta * base;
            if (decreased < estimate) estimate = decreased;
            if (ackedBps) onLinkCapacitySample(double(*ackedBps) / 1000);
            lastChange_ = now;
            state_ = State::Hold;
            break;
        }
    }
    estimate_ = std::clamp(uint64_t(estimate), config_.minBitrateBps, config_.maxBitrateBps);
    return estimate_;
}

}  // namespace tincan::cc
