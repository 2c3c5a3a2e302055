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
    uint64_t stunMalformedDropped = 0;    // STUN that failed to parse
    uint64_t stunUnauthorized = 0;        // STUN with a bad MESSAGE-INTEGRITY or unknown user
    uint64_t iceRoleConflicts = 0;        // 487 role conflicts resolved
    uint64_t dtlsRecordsDropped = 0;      // DTLS datagrams that were not well-formed records
    uint64_t rtpPacketsDropped = 0;       // RTP/RTCP with no media session to take it
    uint64_t unknownPacketsDropped = 0;   // first byte in no RFC 7983 range
    uint64_t foreignPacketsDropped = 0;   // non-STUN datagrams from an address that is no pair
    uint64_t earlyDtlsBuffered = 0;       // DTLS records kept until the role was known
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

struct StatsReport {
    double timestampMs = 0;  // milliseconds since the Unix epoch (DOMHighResTimeStamp)
    std::optional<TransportStats> transport;
    std::vector<IceCandidateStats> candidates;  // local, then remote
    std::vector<CandidatePairStats> candidatePairs;
    std::vector<DataChannelStats> dataChannels;  // open and closed ones (W3C keeps both)
    std::vector<CertificateStats> certificates;
    std::optional<PeerConnectionStats> peerConnection;

    const CandidatePairStats* selectedPair() const;
    const IceCandidateStats* candidate(const std::string& id) const;
};

// A JSON array of stats objects; indent < 0 writes one line.
std::string toJson(const StatsReport& report, int indent = -1);

}  // namespace tincan
