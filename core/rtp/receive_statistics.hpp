// Receive-side statistics for one incoming SSRC (RFC 3550 Appendix A.1, A.3, A.8) and the
// sender-side RTT from report blocks (RFC 3550 §6.4.1 LSR/DLSR).
//
// The receive path calls ReceiveStatistics::onPacket() for every media packet after SRTP and
// parse, onSenderReport() for each SR from that source, and makeReportBlock() when it writes
// an RR/SR. The send path calls RttEstimator::onSenderReportSent() for each SR it writes and
// onReportBlock() for each report block about its own SSRC.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include "core/common/time.hpp"
#include "core/rtp/rtcp.hpp"

namespace tincan::rtp {

class ReceiveStatistics {
public:
    struct Config {
        uint32_t clockRateHz = 90000;
        // RFC 3550 §A.1 MIN_SEQUENTIAL: in-order packets needed before a source is valid.
        // 1 counts the very first packet (as WebRTC stacks do); the RFC's example uses 2.
        uint16_t minSequential = 1;
    };
    static constexpr uint16_t kMaxDropout = 3000;  // §A.1
    static constexpr uint16_t kMaxMisorder = 100;

    ReceiveStatistics(uint32_t ssrc, Config config);

    // RFC 3550 §A.1 update_seq. False when the packet is not counted: during probation, or the
    // first of a large jump (a restarted sender is believed on its second packet). Jitter
    // (§A.8) skips retransmissions, whose send time is not the timestamp's.
    bool onPacket(Timestamp arrival, uint16_t seq, uint32_t rtpTimestamp,
                  bool retransmitted = false);
    // An SR from this source: its NTP time is echoed as LSR, the delay since as DLSR.
    void onSenderReport(Timestamp now, uint64_t ntpTime);

    // RFC 3550 §A.3: a report block; starts a new interval for fractionLost.
    ReportBlock makeReportBlock(Timestamp now);

    uint32_t ssrc() const { return ssrc_; }
    bool valid() const { return probation_ == 0; }
    uint32_t extendedHighestSeq() const { return cycles_ + maxSeq_; }
    int64_t expected() const { return valid() ? int64_t(extendedHighestSeq()) - baseSeq_ + 1 : 0; }
    int64_t cumulativeLost() const { return expected() - int64_t(received_); }
    uint64_t packetsReceived() const { return received_; }
    uint32_t jitterRtpUnits() const { return jitterQ4_ >> 4; }
    // Packets not counted (probation, unconfirmed jumps).
    uint64_t packetsIgnored() const { return ignored_; }

private:
    void initSeq(uint16_t seq);

    uint32_t ssrc_;
    Config config_;
    bool seen_ = false;
    uint16_t maxSeq_ = 0;
    uint32_t cycles_ = 0;  // count of wraps × 65536
    uint32_t baseSeq_ = 0;
    uint32_t badSeq_ = 0x10001;
    uint16_t probation_ = 0;
    uint64_t received_ = 0;
    uint64_t expectedPrior_ = 0;
    uint64_t receivedPrior_ = 0;
    uint64_t ignored_ = 0;
    // §A.8, in RTP units: transit of the previous packet and jitter × 16.
    std::optional<int64_t> lastTransit_;
    uint32_t jitterQ4_ = 0;
    Timestamp firstArrival_{};
    std::optional<std::pair<uint32_t, Timestamp>> lastSr_;  // compact NTP, arrival
};

// Sender side: RTT = now − (when the echoed SR left) − DLSR. The SR's send time is looked up
// by its compact NTP time, so no wall clock is needed; the RFC's form is rttFromCompactNtp().
class RttEstimator {
public:
    void onSenderReportSent(Timestamp now, uint64_t ntpTime);
    // A report block about our SSRC. nullopt if it echoes no SR (LSR 0) or one we no longer
    // remember; implausible results (negative) are ignored too.
    std::optional<Duration> onReportBlock(Timestamp now, const ReportBlock& block);
    std::optional<Duration> latestRtt() const { return latest_; }

private:
    std::deque<std::pair<uint32_t, Timestamp>> sent_;  // the last 32 SRs
    std::optional<Duration> latest_;
};

// RFC 3550 §6.4.1: A − LSR − DLSR, all in compact NTP (1/65536 s); nullopt if negative.
std::optional<Duration> rttFromCompactNtp(uint32_t arrivalCompactNtp, uint32_t lastSr,
                                          uint32_t delaySinceLastSr);

}  // namespace tincan::rtp
