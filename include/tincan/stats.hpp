// getStats(): a typed report with the W3C webrtc-stats dictionaries' names and types
// (https://www.w3.org/TR/webrtc-stats/). toJson() writes it as an array of stats objects, each
// with "id" and "type", the shape chrome://webrtc-internals and the W3C examples use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tincan {

// RTCTransportStats, plus the counters of what the transport dropped (Tincan's own members).
struct TransportStats {
    std::string id = "T01";
    uint64_t bytesSent = 0, bytesReceived = 0, packetsSent = 0, packetsReceived = 0;
    std::string iceState;   // RTCIceTransportState
    std::string dtlsState;  // RTCDtlsTransportState
    std::string iceRole;    // "controlling" | "controlled"
    std::optional<std::string> selectedCandidatePairId;
    std::string localCertificateId;
    std::optional<std::string> remoteCertificateId;
    std::optional<std::string> tlsVersion, dtlsCipher, dtlsRole, srtpCipher;
    // Dropped and counted, never delivered:
    uint64_t stunMalformedDropped = 0;   // STUN that failed to parse
    uint64_t stunUnauthorized = 0;       // STUN with a bad MESSAGE-INTEGRITY or unknown user
    uint64_t iceRoleConflicts = 0;       // 487 role conflicts resolved
    uint64_t dtlsRecordsDropped = 0;     // DTLS datagrams that were not well-formed records
    uint64_t rtpPacketsDropped = 0;      // RTP/RTCP with no media session to take it
    uint64_t unknownPacketsDropped = 0;  // first byte in no RFC 7983 range
    uint64_t foreignPacketsDropped = 0;  // non-STUN datagrams from an address that is no pair
    uint64_t earlyDtlsBuffered = 0;      // DTLS records kept until the role was known
    uint64_t srtpDropped = 0;            // replayed, tampered or unauthenticated SRTP/SRTCP
    uint64_t rtpMalformedDropped = 0;    // RTP that failed to parse after SRTP
    uint64_t rtpUnknownSsrcDropped = 0;  // RTP no negotiated section could take
    uint64_t rtcpMalformedDropped = 0;   // RTCP sub-packets that failed to parse
};

// RTCIceCandidateStats ("local-candidate" or "remote-candidate").
struct IceCandidateStats {
    std::string id;
    bool local = true;
    std::string candidateType;  // "host", "srflx", "prflx", "relay"
    std::string protocol;       // "udp", "tcp"
    std::string address;
    uint16_t port = 0;
    uint32_t priority = 0;
    std::string foundation;
    std::optional<std::string> relayProtocol;  // "udp", "tcp", "tls"
    std::optional<std::string> url;
};

// RTCIceCandidatePairStats.
struct CandidatePairStats {
    std::string id;
    std::string localCandidateId, remoteCandidateId;
    std::string state;  // RTCStatsIceCandidatePairState
    bool nominated = false;
    bool selected = false;  // the transport's selectedCandidatePairId
    uint64_t priority = 0;
    uint64_t requestsSent = 0, requestsReceived = 0, responsesSent = 0, responsesReceived = 0;
    uint64_t consentRequestsSent = 0;
    uint64_t packetsSent = 0, packetsReceived = 0, bytesSent = 0, bytesReceived = 0;
    double totalRoundTripTime = 0;  // seconds
    std::optional<double> currentRoundTripTime;
};

// RTCDataChannelStats.
struct DataChannelStats {
    std::string id;
    std::string label, protocol;
    std::optional<uint16_t> dataChannelIdentifier;
    std::string state;
    uint64_t messagesSent = 0, bytesSent = 0, messagesReceived = 0, bytesReceived = 0;
};

// RTCCertificateStats.
struct CertificateStats {
    std::string id;
    std::string fingerprint;           // upper-case hex with colons
    std::string fingerprintAlgorithm;  // "sha-256"
};

// RTCPeerConnectionStats.
struct PeerConnectionStats {
    std::string id = "P";
    uint32_t dataChannelsOpened = 0, dataChannelsClosed = 0;
};

// RTCCodecStats.
struct CodecStats {
    std::string id;
    std::string transportId = "T01";
    int payloadType = 0;
    std::string mimeType;  // "video/VP8", "audio/opus"
    uint32_t clockRate = 0;
    std::optional<uint16_t> channels;
    std::string sdpFmtpLine;
};

// RTCOutboundRtpStreamStats (what we send on one section).
struct OutboundRtpStats {
    std::string id, kind, mid, codecId;
    std::string transportId = "T01";
    uint32_t ssrc = 0;
    uint64_t packetsSent = 0, bytesSent = 0, headerBytesSent = 0;
    uint64_t retransmittedPacketsSent = 0, retransmittedBytesSent = 0;
    uint64_t nackCount = 0, pliCount = 0, firCount = 0;
    double targetBitrate = 0;  // bits per second
    // video
    std::optional<uint64_t> framesEncoded, keyFramesEncoded, qpSum;
    std::optional<double> totalEncodeTime;
    std::optional<uint32_t> frameWidth, frameHeight;
    std::optional<std::string> remoteId;
    std::optional<std::string> mediaSourceId;
};

// RTCVideoSourceStats / RTCAudioSourceStats (type "media-source"): what a track captures.
struct MediaSourceStats {
    std::string id, kind, trackIdentifier;
    // video
    std::optional<uint32_t> width, height;
    std::optional<uint64_t> frames;
    std::optional<double> framesPerSecond;
    // audio
    std::optional<double> audioLevel, totalAudioEnergy, totalSamplesDuration;
};

// RTCRemoteInboundRtpStreamStats (the peer's reports about what we send).
struct RemoteInboundRtpStats {
    std::string id, kind, localId, codecId;
    uint32_t ssrc = 0;
    int64_t packetsLost = 0;
    double fractionLost = 0;
    double jitter = 0;                    // seconds
    std::optional<double> roundTripTime;  // seconds
};

// RTCInboundRtpStreamStats (what we receive on one section).
struct InboundRtpStats {
    std::string id, kind, mid, codecId, trackIdentifier;
    std::string transportId = "T01";
    uint32_t ssrc = 0;
    uint64_t packetsReceived = 0, bytesReceived = 0, headerBytesReceived = 0;
    int64_t packetsLost = 0;
    double jitter = 0;                     // seconds
    uint64_t nackCount = 0, pliCount = 0;  // sent by us
    uint64_t retransmittedPacketsReceived = 0;
    std::optional<double> lastPacketReceivedTimestamp;  // ms since the Unix epoch
    // From the decoder above the track (Track::reportReceivedStats).
    std::optional<uint64_t> framesDecoded, keyFramesDecoded, framesDropped, freezeCount;
    std::optional<uint32_t> frameWidth, frameHeight;
    std::optional<double> framesPerSecond, totalFreezesDuration, totalDecodeTime;
    double jitterBufferDelay = 0;
    uint64_t jitterBufferEmittedCount = 0;
    std::optional<uint64_t> totalSamplesReceived, concealedSamples, concealmentEvents;
};

struct StatsReport {
    double timestampMs = 0;  // milliseconds since the Unix epoch (DOMHighResTimeStamp)
    std::optional<TransportStats> transport;
    std::vector<IceCandidateStats> candidates;  // local, then remote
    std::vector<CandidatePairStats> candidatePairs;
    std::vector<DataChannelStats> dataChannels;  // open and closed ones (W3C keeps both)
    std::vector<CertificateStats> certificates;
    std::optional<PeerConnectionStats> peerConnection;
    std::vector<CodecStats> codecs;
    std::vector<MediaSourceStats> mediaSources;
    std::vector<OutboundRtpStats> outboundRtp;
    std::vector<RemoteInboundRtpStats> remoteInboundRtp;
    std::vector<InboundRtpStats> inboundRtp;

    const CandidatePairStats* selectedPair() const;
    const IceCandidateStats* candidate(const std::string& id) const;
};

// A JSON array of stats objects; indent < 0 writes one line.
std::string toJson(const StatsReport& report, int indent = -1);

}  // namespace tincan
