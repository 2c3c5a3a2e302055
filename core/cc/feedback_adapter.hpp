// Send-side records per transport-wide sequence number, matched against TWCC feedback
// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1) to give, per packet, its send
// time, size and arrival time on the receiver's clock.
//
// The send path calls onPacketSent() for every packet that leaves with a transport-wide
// sequence number (media, retransmissions, padding and probes); the RTCP path hands each
// TransportFeedback to onFeedback(), whose results feed the estimators (goog_cc.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "core/common/time.hpp"
#include "core/rtp/rtcp.hpp"
#include "core/rtp/rtp_packet.hpp"

namespace tincan::cc {

inline constexpr int kNoProbe = -1;

struct SentPacket {
    uint16_t transportSeq = 0;
    Timestamp sendTime{};
    size_t sizeBytes = 0;  // the whole RTP packet as sent (SRTP overhead included if known)
    int probeClusterId = kNoProbe;
};

struct PacketResult {
    int64_t seq = 0;  // unwrapped transport-wide sequence number
    Timestamp sendTime{};
    size_t sizeBytes = 0;
    int probeClusterId = kNoProbe;
    std::optional<int64_t> arrivalTimeUs;  // receiver's clock; nullopt = reported lost
};

class FeedbackAdapter {
public:
    struct Stats {
        uint64_t unknownSeq = 0;  // feedback about packets we have no record of
        uint64_t duplicates = 0;  // packets reported received a second time
    };

    void onPacketSent(const SentPacket& packet);
    // Results in sequence order; packets already reported received are left out.
    std::vector<PacketResult> onFeedback(const rtp::TransportFeedback& feedback);
    // Bytes sent but not yet reported on (in flight).
    size_t outstandingBytes() const { return outstandingBytes_; }
    const Stats& stats() const { return stats_; }

private:
    struct Record {
        SentPacket packet;
        bool acked = false;     // reported received
        bool reported = false;  // in any feedback
    };
    rtp::SeqUnwrapper unwrapper_;
    std::map<int64_t, Record> history_;
    size_t outstandingBytes_ = 0;
    std::optional<int64_t> lastReferenceUnits_;  // unwrapped 24-bit reference time
    Stats stats_;
};

}  // namespace tincan::cc
