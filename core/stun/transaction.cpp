#include "core/stun/transaction.hpp"

#include <algorithm>

namespace tincan::stun {

TransactionTimer::TransactionTimer(const RetransmitPolicy& policy, Timestamp now)
    // The cap holds from the first retransmission on, even below the RTO.
    : policy_(policy), next_(now), interval_(std::min(policy.rto, policy.maxInterval)) {}

TransactionTimer::Action TransactionTimer::poll(Timestamp now) {
    if (done_ || now < next_) return Action::None;
    int maxSends = policy_.reliable ? 1 : policy_.rc;
    if (sends_ >= maxSends) {
        done_ = true;
        return Action::TimedOut;
    }
    ++sends_;
    if (policy_.reliable) {
        next_ = now + policy_.reliableTimeout;
    } else if (sends_ == maxSends) {
        next_ = now + policy_.rto * policy_.rm;
    } else {
        next_ = now + interval_;
        if (interval_ < policy_.maxInterval / 2)
            interval_ *= 2;
        else
            interval_ = policy_.maxInterval;
    }
    return Action::Send;
}

std::optional<Timestamp> TransactionTimer::deadline() const {
    if (done_) return std::nullopt;
    return next_;
}

}  // namespace tincan::stun
