// RTCP packets (RFC 3550 §6, RFC 4585 §6, RFC 5104 §4.3.1, draft-alvestrand-rmcat-remb-03 §2.2,
// draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1) as plain structs, a compound-packet
// parser and writers.
//
// parseRtcp() walks a compound packet (after SRTCP unprotect). Each sub-packet becomes one
// RtcpPacket; a malformed one is dropped with its reason in RtcpCompound::dropped (the caller
// counts them) and, if its length field was still sound, parsing goes on with the next.
// Reduced-size RTCP (RFC 5506: a lone feedback packet, no leading SR/RR) is accepted, and
// well-formed packets of types we do not handle (APP, XR, other FMTs) are skipped and counted
// in RtcpCompound::unknown, as RFC 3550 §6.1 asks.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/common/bytes.hpp"

namespace tincan::rtp {

// RFC 3550 §12.1 / RFC 4585 §6.1 packet types.
inline constexpr uint8_t kRtcpSr = 200;
inline constexpr uint8_t kRtcpRr = 201;
inline constexpr uint8_t kRtcpSdes = 202;
inline constexpr uint8_t kRtcpBye = 203;
inline constexpr uint8_t kRtcpApp = 204;
inline constexpr uint8_t kRtcpRtpfb = 205;
inline constexpr uint8_t kRtcpPsfb = 206;

// RFC 3550 §6.4.1 report block. cumulativeLost is 24-bit signed on the wire (duplicates can
// make it negative); lastSr is the middle 32 bits of the SR's NTP time, delaySinceLastSr in
// units of 1/65536 s.
struct ReportBlock {
    uint32_t ssrc = 0;
    uint8_t fractionLost = 0;  // lost/expected since the previous report, × 256
    int32_t cumulativeLost = 0;
    uint32_t extendedHighestSeq = 0;
    uint32_t jitter = 0;  // RTP timestamp units
    uint32_t lastSr = 0;
    uint32_t delaySinceLastSr = 0;
    bool operator==(const ReportBlock&) const = default;
};

struct SenderReport {  // RFC 3550 §6.4.1
    uint32_t ssrc = 0;
    uint64_t ntpTime = 0;  // 32.32 fixed point seconds since 1900
    uint32_t rtpTimestamp = 0;
    uint32_t packetCount = 0;
    uint32_t octetCount = 0;
    std::vector<ReportBlock> reports;  // at most 31
    bool operator==(const SenderReport&) const = default;
};

struct ReceiverReport {  // RFC 3550 §6.4.2
    uint32_t ssrc = 0;
    std::vector<ReportBlock> reports;  // at most 31
    bool operator==(const ReceiverReport&) const = default;
};

struct SdesChunk {  // RFC 3550 §6.5; only CNAME (§6.5.1) is kept, other items are skipped
    uint32_t ssrc = 0;
    std::string cname;
    bool operator==(const SdesChunk&) const = default;
};
struct Sdes {
    std::vector<SdesChunk> chunks;  // at most 31
    bool operator==(const Sdes&) const = default;
};

struct Bye {                      // RFC 3550 §6.6
    std::vector<uint32_t> ssrcs;  // at most 31
    std::string reason;           // at most 255 bytes
    bool operator==(const Bye&) const = default;
};

// RFC 4585 §6.2.1 generic NACK. On the wire: (PID, BLP) pairs; here the lost sequence numbers
// they name, in wire order (see nackPairsFromSeqs/seqsFromNackPairs).
struct Nack {
    uint32_t senderSsrc = 0;
    uint32_t mediaSsrc = 0;
    std::vector<uint16_t> lostSeqs;
    bool operator==(const Nack&) const = default;
};

struct Pli {  // RFC 4585 §6.3.1
    uint32_t senderSsrc = 0;
    uint32_t mediaSsrc = 0;
    bool operator==(const Pli&) const = default;
};

struct FirEntry {
    uint32_t ssrc = 0;
    uint8_t seqNr = 0;  // incremented per new request (RFC 5104 §4.3.1.2)
    bool operator==(const FirEntry&) const = default;
};
struct Fir {  // RFC 5104 §4.3.1; media source SSRC is 0 on the wire
    uint32_t senderSsrc = 0;
    std::vector<FirEntry> entries;
    bool operator==(const Fir&) const = default;
};

struct Remb {  // draft-alvestrand-rmcat-remb-03 §2.2
    uint32_t senderSsrc = 0;
    uint64_t bitrateBps = 0;  // written as 6-bit exponent, 18-bit mantissa (rounded down)
    std::vector<uint32_t> ssrcs;
    bool operator==(const Remb&) const = default;
};

// draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1.
struct TransportFeedback {
    // 250 µs per receive-delta tick (§3.1.5); 64 ms per reference-time unit (§3.1).
    static constexpr int64_t kDeltaTickUs = 250;
    static constexpr int64_t kReferenceTimeUnitUs = 64000;

    struct PacketStatus {
        bool received = false;
        // Arrival minus the previous received packet's arrival (the first: minus the reference
        // time), in 250 µs ticks. 0..255 is a "small" delta, the rest of int16 "large".
        int32_t deltaTicks = 0;
        bool operator==(const PacketStatus&) const = default;
    };

    uint32_t senderSsrc = 0;
    uint32_t mediaSsrc = 0;
    uint16_t baseSequenceNumber = 0;
    int32_t referenceTime = 0;          // 24-bit signed, in 64 ms units
    uint8_t feedbackCount = 0;          // fb pkt count, wraps
    std::vector<PacketStatus> packets;  // packet status count = size(), from baseSequenceNumber

    // Arrival time of each packet in µs on the receiver's clock (reference time + deltas);
    // nullopt for packets not received. Same order as `packets`.
    std::vector<std::optional<int64_t>> arrivalTimesUs() const;
    bool operator==(const TransportFeedback&) const = default;
};

using RtcpPacket =
    std::variant<SenderReport, ReceiverReport, Sdes, Bye, Nack, Pli, Fir, Remb, TransportFeedback>;

struct RtcpCompound {
    std::vector<RtcpPacket> packets;
    std::vector<std::string> dropped;  // one reason per malformed sub-packet
    size_t unknown = 0;                // well-formed sub-packets of types not handled here
};

// Parses a (compound or reduced-size) RTCP packet. Never throws; all errors are in `dropped`.
RtcpCompound parseRtcp(ByteView data);

// One sub-packet; empty Bytes if it cannot be written (over 31 blocks/chunks/SSRCs, a reason
// or CNAME over 255 bytes, a REMB bitrate that needs more than 63 exponent bits, feedback with
// more than 65535 statuses or a delta outside int16).
Bytes serializeRtcp(const RtcpPacket& packet);
// The concatenation (a compound packet), or empty if any sub-packet cannot be written.
Bytes serializeRtcp(std::span<const RtcpPacket> packets);

// RFC 4585 §6.2.1 FCI: one (PID, BLP) pair covers PID and the 16 sequence numbers after it.
struct NackPair {
    uint16_t pid = 0;
    uint16_t blp = 0;
    bool operator==(const NackPair&) const = default;
};
// Sequence numbers in send order (ascending modulo 2^16) → as few pairs as a greedy pass gives.
std::vector<NackPair> nackPairsFromSeqs(std::span<const uint16_t> seqs);
std::vector<uint16_t> seqsFromNackPairs(std::span<const NackPair> pairs);

// NTP helpers (RFC 3550 §4): the compact form is the middle 32 bits (16.16 seconds).
inline uint32_t compactNtp(uint64_t ntp) {
    return uint32_t(ntp >> 16);
}
// Microseconds since the Unix epoch → 32.32 NTP (seconds since 1900).
uint64_t ntpFromUnixUs(int64_t unixUs);

}  // namespace tincan::rtp
