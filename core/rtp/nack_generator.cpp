#include "core/rtp/nack_generator.hpp"

namespace tincan::rtp {

NackGenerator::NackGenerator(Config config) : config_(config), rtt_(config.initialRtt) {}

void NackGenerator::giveUp(std::map<int64_t, Hole>::iterator it) {
    missing_.erase(it);
    ++stats_.givenUp;
    keyframeNeeded_ = true;
}

void NackGenerator::onPacket(Timestamp now, uint16_t seq) {
    int64_t s = unwrapper_.unwrap(seq);
    if (!newest_) {
        newest_ = s;
        return;
    }
    if (s <= *newest_) {  // late or retransmitted: fills a hole, if it was one
        auto it = missing_.find(s);
        if (it != missing_.end()) {
            if (it->second.retries > 0) ++stats_.recovered;
            missing_.erase(it);
        }
        return;
    }
    // A gap far larger than the list can hold is a sender restart or a long outage.
    if (s - *newest_ - 1 > int64_t(config_.maxMissing)) {
        stats_.givenUp += missing_.size() + uint64_t(s - *newest_ - 1);
        missing_.clear();
        keyframeNeeded_ = true;
    } else {
        for (int64_t m = *newest_ + 1; m < s; ++m) missing_.emplace(m, Hole{now, {}, 0});
    }
    newest_ = s;
    while (missing_.size() > config_.maxMissing) giveUp(missing_.begin());
}

std::vector<uint16_t> NackGenerator::pollNack(Timestamp now) {
    std::vector<uint16_t> out;
    for (auto it = missing_.begin(); it != missing_.end();) {
        Hole& h = it->second;
        const bool retriesSpent =
            h.retries >= config_.maxRetries && now - *h.lastSent >= resendInterval();
        if (now - h.firstMissed >= config_.maxAge || retriesSpent) {
            auto dead = it++;
            giveUp(dead);
            continue;
        }
        if (!h.lastSent || now - *h.lastSent >= resendInterval()) {
            out.push_back(uint16_t(it->first));
            h.lastSent = now;
            ++h.retries;
            ++stats_.requested;
        }
        ++it;
    }
    return out;
}

std::optional<Timestamp> NackGenerator::pollTimeout() const {
    std::optional<Timestamp> next;
    for (const auto& [seq, h] : missing_) {
        Timestamp due = h.lastSent ? *h.lastSent + resendInterval() : h.firstMissed;
        due = std::min(due, h.firstMissed + config_.maxAge);
        if (!next || due < *next) next = due;
    }
    return next;
}

bool NackGenerator::pollKeyframeNeeded() {
    bool k = keyframeNeeded_;
    keyframeNeeded_ = false;
    return k;
}

}  // namespace tincan::rtp
