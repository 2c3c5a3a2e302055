// The media half of a connection, sans-IO: RTP and RTCP over the bundled transport, keyed by
// DTLS-SRTP (RFC 5764), for the audio and video sections negotiation agreed.
//
//   send:  OutgoingFrame ─ RTP header (ssrc, seq, mid / abs-send-time / transport-cc ids) ─
//          PacketHistory ─ Pacer ─ transport seq + CongestionController::onPacketSent ─ SRTP ─ out
//   recv:  SRTP ─ parse ─ demux (RFC 8843 §9.2: known SSRC, then the mid extension, then the
//          payload type) ─ RTX unwrap (RFC 4588) ─ ReceiveStatistics, NackGenerator,
//          TwccGenerator ─ event::RtpReceived
//   RTCP:  SR/RR + SDES every second (RFC 3550 §6.4), NACK/PLI as they are due (RFC 4585),
//          transport-wide feedback every 50 ms; incoming NACK → RTX resend, PLI/FIR → event,
//          transport feedback/REMB → congestion controller, report blocks → RTT.
//
// Bytes, `now` and the wall clock's offset in; protected datagrams, deadlines and events out.
// The Connection owns it and calls it on the driving thread.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/cc/goog_cc.hpp"
#include "core/cc/pacer.hpp"
#include "core/common/random.hpp"
#include "core/common/time.hpp"
#include "core/dtls/dtls_transport.hpp"
#include "core/rtp/nack_generator.hpp"
#include "core/rtp/packet_history.hpp"
#include "core/rtp/receive_statistics.hpp"
#include "core/rtp/rtcp.hpp"
#include "core/rtp/rtp_packet.hpp"
#include "core/rtp/send_statistics.hpp"
#include "core/rtp/twcc_generator.hpp"
#include "core/srtp/srtp_session.hpp"
#include "tincan/track.hpp"

namespace tincan::pc {

// One negotiated audio or video section, as the media transport needs it.
struct MediaSectionConfig {
    std::string mid;
    MediaKind kind = MediaKind::Audio;
    bool send = false;  // negotiated direction includes sending
    bool recv = false;
    RtpCodec codec;                     // payload type, clock rate
    std::optional<int> rtxPayloadType;  // RFC 4588, for `codec`
    uint32_t localSsrc = 0;             // also our RTCP sender SSRC for this section
    uint32_t localRtxSsrc = 0;
    // What the peer announced (a=ssrc, a=ssrc-group:FID); may be empty (then mid/PT demux).
    std::vector<uint32_t> remoteSsrcs;
    std::map<uint32_t, uint32_t> remoteRtxToMedia;  // RTX ssrc → media ssrc
    std::vector<int> remotePayloadTypes;            // the peer may send any of these
    std::map<int, int> remoteRtxPayloadTypes;       // RTX pt → apt
    bool nack = false, pli = false, fir = false;    // a=rtcp-fb the peer understands
};

struct MediaConfig {
    std::vector<MediaSectionConfig> sections;
    uint8_t midExtensionId = 0;  // 0: not negotiated
    uint8_t absSendTimeExtensionId = 0;
    uint8_t transportCcExtensionId = 0;
    bool transportCc = false;  // transport-cc feedback negotiated (else REMB/none)
    bool reducedSizeRtcp = false;
    std::string cname;
};

namespace media_event {
// A packet for one section: `packet` holds the plaintext RTP packet (unwrapped from RTX),
// `payload` is a view into it.
struct RtpReceived {
    std::string mid;
    Bytes packet;
    uint32_t ssrc = 0;
    int payloadType = 0;
    uint16_t sequenceNumber = 0;
    uint32_t rtpTimestamp = 0;
    bool marker = false;
    bool retransmitted = false;
    size_t payloadOffset = 0, payloadSize = 0;
    Timestamp arrival{};
};
struct KeyframeRequested {
    std::string mid;
};
// A Sender Report from the peer about one of its streams on a section (RFC 3550 §6.4.1).
struct SenderReportReceived {
    std::string mid;
    uint32_t ssrc = 0;
    uint64_t ntpTime = 0;
    uint32_t rtpTimestamp = 0;
    Timestamp arrival{};
};
// The congestion controller's budget for one section's encoder.
struct TargetBitrate {
    std::string mid;
    uint32_t bitrateBps = 0;
};
}  // namespace media_event
using MediaEvent = std::variant<media_event::RtpReceived, media_event::KeyframeRequested,
                                media_event::TargetBitrate, media_event::SenderReportReceived>;

// Counters per section, in the W3C outbound-rtp / inbound-rtp / remote-inbound-rtp terms.
struct MediaSectionStats {
    std::string mid;
    MediaKind kind = MediaKind::Audio;
    RtpCodec codec;
    // outbound-rtp
    uint32_t localSsrc = 0;
    uint64_t packetsSent = 0, bytesSent = 0, headerBytesSent = 0;
    uint64_t retransmittedPacketsSent = 0, retransmittedBytesSent = 0;
    uint64_t framesEncoded = 0, keyFramesEncoded = 0, qpSum = 0;
    double totalEncodeTime = 0;
    uint32_t frameWidth = 0, frameHeight = 0;
    uint64_t nackCount = 0, pliCount = 0, firCount = 0;  // received from the peer
    uint32_t targetBitrate = 0;
    // remote-inbound-rtp (the peer's report blocks about our stream)
    std::optional<double> roundTripTime;  // seconds
    int64_t remotePacketsLost = 0;
    double remoteFractionLost = 0;
    double remoteJitter = 0;  // seconds
    bool remoteReportSeen = false;
    // inbound-rtp
    std::optional<uint32_t> remoteSsrc;
    uint64_t packetsReceived = 0, bytesReceived = 0, headerBytesReceived = 0;
    int64_t packetsLost = 0;
    double jitter = 0;  // seconds
    uint64_t nackSent = 0, pliSent = 0;
    uint64_t retransmittedPacketsReceived = 0;
    std::optional<Timestamp> lastPacketReceived;
};

struct MediaTransportStats {
    uint64_t rtpMalformedDropped = 0;    // failed to parse after SRTP
    uint64_t rtpUnknownSsrcDropped = 0;  // no section could be found for it
    uint64_t rtcpMalformedDropped = 0;   // sub-packets parseRtcp dropped
    uint64_t rtxMalformedDropped = 0;
    uint64_t srtpFailed = 0;  // replayed, tampered or otherwise refused by libsrtp
    uint64_t beforeKeysDropped = 0;
    uint64_t duplicatesDropped = 0;  // a sequence number already taken (late RTX, padding)
    uint64_t paddingPacketsSent = 0;
};

class MediaTransport {
public:
    // `wallClockOffsetUs`: Unix time in µs minus `now`'s µs, read once by the owner (SR NTP).
    MediaTransport(Random& random, int64_t wallClockOffsetUs);
    ~MediaTransport();

    // (Re)negotiated: keeps the state of sections whose mid stays, adds and drops the others.
    void configure(Timestamp now, MediaConfig config);
    void handleSrtpKeys(Timestamp now, const dtls::SrtpKeyingMaterial& keys, dtls::Role role);
    // RTP or RTCP (RFC 7983 first byte 128..191), still protected.
    void handleIncoming(Timestamp now, ByteView packet);
    // A packet SRTP already removed (the path after unprotect): for the fuzz target.
    void handlePlaintext(Timestamp now, Bytes packet);
    void handleTimeout(Timestamp now);
    std::optional<Timestamp> pollTimeout() const;
    std::optional<Bytes> pollOutgoing();
    std::optional<MediaEvent> pollEvent();

    // False when `mid` has no sending section or the keys are not there yet.
    bool sendFrame(Timestamp now, const std::string& mid, OutgoingFrame frame);
    void requestKeyframe(Timestamp now, const std::string& mid);

    bool ready() const { return srtp_ != nullptr; }
    uint64_t targetBitrateBps() const;
    std::vector<MediaSectionStats> sectionStats() const;
    const MediaTransportStats& stats() const { return stats_; }
    std::optional<srtp::SrtpStats> srtpStats() const;
    uint16_t srtpProfile() const;

private:
    struct RecvStream;
    struct Section;
    Section* findSection(const std::string& mid);
    Section* demux(const rtp::RtpPacketView& p, bool* isRtx);
    void handleRtp(Timestamp now, Bytes packet);
    void handleRtcp(Timestamp now, Bytes packet);
    void onNack(Timestamp now, const rtp::Nack& nack);
    void sendRtcp(std::vector<rtp::RtcpPacket> packets, bool feedback);
    void sendReports(Timestamp now);
    void pollFeedback(Timestamp now);
    void runPacer(Timestamp now);
    void transmit(Timestamp now, Bytes packet, int probeId);
    void allocate();
    uint32_t rtcpSsrc() const;
    uint64_t ntpNow(Timestamp now) const;

    Random& random_;
    int64_t wallClockOffsetUs_;
    MediaConfig config_;
    std::vector<std::unique_ptr<Section>> sections_;
    std::map<uint32_t, Section*> ssrcToSection_;
    std::unique_ptr<srtp::SrtpSession> srtp_;
    std::optional<std::pair<dtls::SrtpKeyingMaterial, dtls::Role>> keys_;
    rtp::TwccGenerator twcc_;
    cc::CongestionController cc_;
    cc::Pacer pacer_;
    std::map<uint64_t, std::pair<Bytes, cc::PacketKind>> queued_;  // pacer handle → packet
    uint64_t nextHandle_ = 1;
    uint16_t transportSeq_ = 0;
    uint32_t twccMediaSsrc_ = 0;  // the peer's SSRC last seen with a transport-wide seq
    Timestamp nextReport_{};
    std::optional<uint64_t> rembBps_;  // the peer's latest REMB
    Bytes lastVideoPacket_;            // resent through RTX as probe padding
    uint32_t fallbackSsrc_;
    std::deque<Bytes> out_;
    std::deque<MediaEvent> events_;
    MediaTransportStats stats_;
};

}  // namespace tincan::pc
