// The transport a candidate or a TURN server is reached over.
#pragma once

#include <cstdint>

namespace tincan {

enum class TransportProtocol : uint8_t { Udp = 1, Tcp = 2, Tls = 3 };
const char* toString(TransportProtocol p);  // "udp", "tcp", "tls"

}  // namespace tincan
