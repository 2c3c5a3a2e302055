#include "core/rtp/send_statistics.hpp"

namespace tincan::rtp {

void SendStatistics::onPacketSent(size_t payloadBytes, uint32_t rtpTimestamp,
                                  Timestamp captureTime) {
    ++packets_;
    octets_ += uint32_t(payloadBytes);
    last_ = {rtpTimestamp, captureTime};
}

std::optional<SenderReport> SendStatistics::makeSenderReport(Timestamp now, uint64_t ntpNow) const {
    if (!last_) return std::nullopt;
    SenderReport sr;
    sr.ssrc = ssrc_;
    sr.ntpTime = ntpNow;
    const int64_t elapsedUs =
        std::chrono::duration_cast<std::chrono::microseconds>(now - last_->second).count();
    // Timestamps wrap modulo 2^32; a negative elapsed time (capture after `now`) goes back.
    sr.rtpTimestamp = last_->first + uint32_t(elapsedUs * int64_t(clockRateHz_) / 1000000);
    sr.packetCount = packets_;
    sr.octetCount = octets_;
    return sr;
}

}  // namespace tincan::rtp
