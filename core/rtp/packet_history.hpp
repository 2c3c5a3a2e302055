// Send-side store of sent RTP packets for retransmission (RFC 4585 §6.2.1 NACK → RFC 4588 RTX
// or a plain resend), for one media SSRC.
//
// The send path calls put() with each serialized packet (before SRTP). On a NACK it calls
// getForResend(now, seq, rtt) per sequence number: the stored packet, or nullptr if it is gone
// (older than maxAge, pushed out by maxBytes) or was already resent within the last RTT (a
// NACK repeated before our resend could arrive). Wrap the result with wrapRtx() when RTX is
// negotiated.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "core/common/bytes.hpp"
#include "core/common/time.hpp"
#include "core/rtp/rtp_packet.hpp"

namespace tincan::rtp {

class PacketHistory {
public:
    struct Config {
        Duration maxAge = 1000ms;
        size_t maxBytes = 2 * 1024 * 1024;
    };
    struct Stats {
        uint64_t resent = 0;
        uint64_t missing = 0;    // asked for but no longer (or never) stored
        uint64_t throttled = 0;  // asked for again within one RTT
    };

    PacketHistory() : PacketHistory(Config{}) {}
    explicit PacketHistory(Config config) : config_(config) {}

    // `seq` is the packet's RTP sequence number; a packet with the same number replaces it.
    void put(Timestamp now, uint16_t seq, Bytes packet);
    const Bytes* getForResend(Timestamp now, uint16_t seq, Duration minInterval);
    const Bytes* find(uint16_t seq) const;

    size_t packetCount() const { return packets_.size(); }
    size_t byteCount() const { return bytes_; }
    const Stats& stats() const { return stats_; }

private:
    struct Entry {
        Timestamp sentAt{};
        std::optional<Timestamp> resentAt;
        Bytes packet;
    };
    void evict(Timestamp now);

    Config config_;
    SeqUnwrapper unwrapper_;
    std::map<int64_t, Entry> packets_;
    size_t bytes_ = 0;
    Stats stats_;
};

}  // namespace tincan::rtp
