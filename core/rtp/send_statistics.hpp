// Sender-side counters for one outgoing SSRC and the Sender Report built from them
// (RFC 3550 §6.4.1): packet and payload-octet counts, and the NTP ↔ RTP timestamp pair that
// receivers use for RTT (LSR) and lip sync.
//
// The send path calls onPacketSent() for each original media packet (not retransmissions:
// §6.4.1 counts each packet once); the RTCP timer calls makeSenderReport() with the wall
// clock's NTP time (the only wall-clock value, read by the caller) and hands the SR's NTP time
// to RttEstimator::onSenderReportSent().
#pragma once

#include <cstdint>
#include <optional>

#include "core/common/time.hpp"
#include "core/rtp/rtcp.hpp"

namespace tincan::rtp {

class SendStatistics {
public:
    SendStatistics(uint32_t ssrc, uint32_t clockRateHz) : ssrc_(ssrc), clockRateHz_(clockRateHz) {}

    // `captureTime` is the instant `rtpTimestamp` stands for (the frame's capture time).
    void onPacketSent(size_t payloadBytes, uint32_t rtpTimestamp, Timestamp captureTime);

    // nullopt before the first packet (an SR needs a timestamp to map). The RTP timestamp is
    // the last one extrapolated to `now` at the clock rate.
    std::optional<SenderReport> makeSenderReport(Timestamp now, uint64_t ntpNow) const;

    uint32_t packetCount() const { return packets_; }
    uint32_t octetCount() const { return octets_; }

private:
    uint32_t ssrc_;
    uint32_t clockRateHz_;
    uint32_t packets_ = 0;  // wrap at 2^32 as on the wire
    uint32_t octets_ = 0;
    std::optional<std::pair<uint32_t, Timestamp>> last_;
};

}  // namespace tincan::rtp
