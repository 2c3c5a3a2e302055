// ICE candidates and the selected candidate pair as the API reports them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tincan/result.hpp"
#include "tincan/transport.hpp"

namespace tincan {

enum class CandidateType : uint8_t { Host = 1, ServerReflexive, PeerReflexive, Relayed };
const char* toString(CandidateType t);  // "host", "srflx", "prflx", "relay"

// How the selected pair crosses the network: host to host on one network, through a NAT
// without a relay (hole-punched), or through a TURN relay.
enum class PathType : uint8_t { Lan = 1, Direct, Relay };
const char* toString(PathType p);  // "lan", "direct", "relay"

// A candidate as signaling carries it (W3C RTCIceCandidateInit). An empty `candidate` is the
// end-of-candidates marker.
struct IceCandidate {
    std::string candidate;  // "candidate:1 1 udp 2130706431 192.0.2.1 50000 typ host"
    std::string sdpMid = "0";
    int sdpMLineIndex = 0;
};

// What is known about one candidate (W3C RTCIceCandidateStats members).
struct CandidateInfo {
    CandidateType type = CandidateType::Host;
    TransportProtocol protocol = TransportProtocol::Udp;  // udp or tcp (of the candidate itself)
    std::string address;                                  // an IP address, or an mDNS ".local" name
    uint16_t port = 0;
    uint32_t priority = 0;
    std::string foundation;
    std::optional<std::string> relatedAddress;  // raddr
    std::optional<uint16_t> relatedPort;        // rport
    // Local candidates: the transport to the TURN server of a relayed candidate, and the
    // STUN/TURN server URL the candidate came from.
    std::optional<TransportProtocol> relayProtocol;
    std::string url;
    std::string sdp;  // the candidate-attribute, "candidate:..."

    // RFC 8445 §5.1.2.1: priority = type preference << 24 | local preference << 8 | 256 -
    // component.
    uint32_t typePreference() const { return priority >> 24; }
    uint32_t localPreference() const { return (priority >> 8) & 0xFFFF; }
    uint32_t componentPreference() const { return priority & 0xFF; }
};

// Parses a candidate-attribute ("candidate:...", "a=candidate:..." or the bare value).
Result<CandidateInfo> parseCandidate(const std::string& text);

struct CandidatePair {
    CandidateInfo local;
    CandidateInfo remote;
    PathType path = PathType::Direct;
    std::optional<TransportProtocol> relayProtocol;  // when path is Relay: our leg to the relay
    double rttMs = 0;
};

}  // namespace tincan
