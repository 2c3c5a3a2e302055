// What a STUN server tells about this host's network: the mapped (public) address and, with the
// RFC 5780 tests, the NAT's mapping and filtering behaviour — the reason a direct path can or
// cannot work. probeNat() blocks for up to the timeout: run it off a UI thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tincan/result.hpp"

namespace tincan {

// RFC 5780 §4.3 and §4.4.
enum class NatMapping : uint8_t {
    Unknown = 1,
    None,
    EndpointIndependent,
    AddressDependent,
    AddressAndPortDependent
};
enum class NatFiltering : uint8_t {
    Unknown = 1,
    EndpointIndependent,
    AddressDependent,
    AddressAndPortDependent
};
const char* toString(NatMapping m);    // "unknown", "none", "endpoint-independent", ...
const char* toString(NatFiltering f);  // "unknown", "endpoint-independent", ...

struct HostPort {
    std::string address;
    uint16_t port = 0;
};

struct NatProbeOptions {
    bool behaviorTests = false;  // run the RFC 5780 tests (the server needs OTHER-ADDRESS)
    double timeoutSeconds = 0;   // 0: the STUN retransmission schedule alone decides (~10 s)
};

struct NatProbeResult {
    std::string serverUrl;                 // normalised, "stun:host:3478"
    HostPort local;                        // the socket the requests left from
    HostPort mapped;                       // as the server saw it
    std::optional<HostPort> otherAddress;  // the server's alternate address (RFC 5780)
    double rttMs = 0;
    // With behaviorTests:
    NatMapping mapping = NatMapping::Unknown;
    NatFiltering filtering = NatFiltering::Unknown;
    std::string natType;  // "full cone", "restricted cone", "port-restricted cone", "symmetric",
                          // "no NAT", "unknown"
    std::string behaviorError;  // set when the behaviour tests could not run
    // Plain words for a person: what this NAT means for a direct call.
    std::string explanation() const;
};

// `url` is "stun:HOST[:PORT]" (or a turn: URI over UDP: TURN servers answer Binding too).
Result<NatProbeResult> probeNat(const std::string& url, const NatProbeOptions& options = {});

}  // namespace tincan
