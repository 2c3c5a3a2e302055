// ICE candidates (RFC 8445 §5.1) and their SDP attribute form (RFC 8839 §5.1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/common/endpoint.hpp"
#include "tincan/result.hpp"

namespace tincan::ice {

enum class CandidateType : uint8_t {
    Host = 1,
    ServerReflexive = 2,
    PeerReflexive = 3,
    Relayed = 4
};
const char* toString(CandidateType t);  // "host", "srflx", "prflx", "relay"

// RFC 8445 §5.1.2.2 recommended type preferences.
constexpr uint32_t typePreference(CandidateType t) {
    switch (t) {
        case CandidateType::Host:
            return 126;
        case CandidateType::PeerReflexive:
            return 110;
        case CandidateType::ServerReflexive:
            return 100;
        case CandidateType::Relayed:
            return 0;
    }
    return 0;
}

// RFC 8445 §5.1.2.1: (2^24)*type pref + (2^8)*local pref + (256 - component id).
constexpr uint32_t candidatePriority(CandidateType t, uint32_t localPref, uint32_t component = 1) {
    return (typePreference(t) << 24) + ((localPref & 0xFFFF) << 8) + (256 - component);
}

// RFC 8445 §6.1.2.3: G is the controlling agent's candidate priority, D the controlled one's.
constexpr uint64_t pairPriority(uint32_t g, uint32_t d) {
    uint64_t lo = g < d ? g : d;
    uint64_t hi = g < d ? d : g;
    return (lo << 32) + 2 * hi + (g > d ? 1 : 0);
}

struct Candidate {
    std::string foundation;
    uint16_t component = 1;
    // Transport of the candidate itself. Only UDP candidates are used for checks; TCP ones
    // (RFC 6544) are parsed and ignored.
    TransportProtocol transport = TransportProtocol::Udp;
    uint32_t priority = 0;
    Endpoint address;
    // A ".local" mDNS name in place of the address (the address is then unspecified until the
    // name is resolved).
    std::string hostname;
    CandidateType type = CandidateType::Host;
    std::optional<Endpoint> related;  // raddr/rport
    std::string tcpType;              // active/passive/so for TCP candidates
    // Local candidates only: the address packets are sent from, and for relayed candidates
    // the transport to the TURN server.
    Endpoint base;
    std::optional<TransportProtocol> relayProtocol;
    std::string url;  // the STUN/TURN server it came from

    // "candidate:1 1 udp 2130706431 192.0.2.1 50000 typ host" (no "a=" prefix).
    std::string toSdp() const;
    bool isMdns() const { return !hostname.empty(); }
};

// Accepts "candidate:...", "a=candidate:..." or the bare value.
Result<Candidate> parseCandidate(std::string_view text);

}  // namespace tincan::ice
