// STUN and TURN server URIs (RFC 7064, RFC 7065):
//   stun:host[:port]   stuns:host[:port]   turn:host[:port][?transport=udp|tcp]   turns:host[:port]
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/endpoint.hpp"
#include "tincan/result.hpp"

namespace tincan::ice {

struct ServerUri {
    enum class Scheme : uint8_t { Stun = 1, Stuns, Turn, Turns };
    Scheme scheme = Scheme::Stun;
    std::string host;  // a name or an IP literal (without brackets)
    uint16_t port = 0;
    TransportProtocol transport = TransportProtocol::Udp;  // Tls for turns:/stuns:

    bool isTurn() const { return scheme == Scheme::Turn || scheme == Scheme::Turns; }
    std::string toString() const;
};

Result<ServerUri> parseServerUri(std::string_view text);

}  // namespace tincan::ice
