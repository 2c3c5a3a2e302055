// Receiver side of transport-wide congestion control
// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3): records the arrival time of every
// packet carrying the transport-wide sequence number extension and emits TransportFeedback.
//
// The receive path calls onPacket(arrival, transportSeq) for each such packet (any SSRC of
// the BUNDLE group) and, at pollTimeout(), drains pollFeedback(now) until it returns nullopt,
// sending each result as one RTCP packet. Feedback is due every `interval`; one feedback
// covers every sequence number from the end of the previous one up to the newest received.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "core/common/time.hpp"
#include "core/rtp/rtcp.hpp"
#include "core/rtp/rtp_packet.hpp"

namespace tincan::rtp {

class TwccGenerator {
public:
    struct Config {
        uint32_t senderSsrc = 0;  // ours (RTCP sender)
        uint32_t mediaSsrc = 0;   // the peer's first media SSRC; informational per §3.1
        Duration interval = 50ms;
        size_t maxStatusesPerPacket = 1000;  // keeps one feedback well under an MTU
    };
    struct Stats {
        uint64_t packets = 0;
        uint64_t duplicates = 0;
        uint64_t late = 0;  // arrived after its sequence number was already reported
        uint64_t feedbackSent = 0;
    };

    TwccGenerator() : TwccGenerator(Config{}) {}
    explicit TwccGenerator(Config config) : config_(config) {}

    void onPacket(Timestamp arrival, uint16_t transportSeq);
    std::optional<TransportFeedback> pollFeedback(Timestamp now);
    // When pollFeedback() has something to give; Timestamp{} (the epoch) means "now".
    std::optional<Timestamp> pollTimeout() const;
    const Stats& stats() const { return stats_; }

private:
    Config config_;
    SeqUnwrapper unwrapper_;
    std::map<int64_t, int64_t> arrivals_;  // unwrapped seq → arrival µs (since Timestamp epoch)
    std::optional<int64_t> nextToReport_;  // first unwrapped seq not yet in a feedback
    std::optional<Timestamp> lastSent_;
    bool flushing_ = false;  // more than one feedback is due in this poll round
    uint8_t feedbackCount_ = 0;
    Stats stats_;
};

}  // namespace tincan::rtp
