// Receiver-side NACK requests (RFC 4585 §6.2.1, §3.5.4 timing) for one media SSRC.
//
// The receive path calls onPacket() for every media packet (and every recovered one, after
// RTX unwrap), onRtt() when an RTT estimate arrives, and at pollTimeout() calls pollNack(now)
// and sends the result as one rtcp::Nack. A missing packet is asked for at once, then again
// every RTT, up to maxRetries times; when it is given up (retries spent, older than maxAge or
// the list overflows) pollKeyframeNeeded() turns true once: send a PLI.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "core/common/time.hpp"
#include "core/rtp/rtp_packet.hpp"

namespace tincan::rtp {

class NackGenerator {
public:
    struct Config {
        int maxRetries = 10;
        Duration maxAge = 1000ms;     // give up on a packet missing this long
        size_t maxMissing = 1000;     // more holes than this: give up on all, ask for a keyframe
        Duration initialRtt = 100ms;  // resend spacing until onRtt() is called
        Duration minResendInterval = 5ms;
    };
    struct Stats {
        uint64_t requested = 0;  // sequence numbers put in NACKs (each retry counts)
        uint64_t recovered = 0;  // holes filled after at least one request
        uint64_t givenUp = 0;
    };

    NackGenerator() : NackGenerator(Config{}) {}
    explicit NackGenerator(Config config);

    void onPacket(Timestamp now, uint16_t seq);
    void onRtt(Duration rtt) { rtt_ = rtt; }

    // The sequence numbers to NACK now, oldest first (empty if none is due).
    std::vector<uint16_t> pollNack(Timestamp now);
    std::optional<Timestamp> pollTimeout() const;
    bool pollKeyframeNeeded();

    size_t missingCount() const { return missing_.size(); }
    const Stats& stats() const { return stats_; }

private:
    struct Hole {
        Timestamp firstMissed{};
        std::optional<Timestamp> lastSent;
        int retries = 0;
    };
    Duration resendInterval() const { return std::max(rtt_, config_.minResendInterval); }
    void giveUp(std::map<int64_t, Hole>::iterator it);

    Config config_;
    Duration rtt_;
    SeqUnwrapper unwrapper_;
    std::optional<int64_t> newest_;
    std::map<int64_t, Hole> missing_;  // unwrapped seq → state
    bool keyframeNeeded_ = false;
    Stats stats_;
};

}  // namespace tincan::rtp
