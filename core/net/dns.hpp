// Host name resolution for applications (TURN/STUN server names), before or outside the
// network loop. Blocking: never call it on the Runtime's loop thread.
#pragma once

#include <string>
#include <vector>

#include "core/common/endpoint.hpp"
#include "tincan/result.hpp"

namespace tincan::net {

// Addresses of `host` in resolver order, without duplicates. An IP literal ("192.0.2.1",
// "2001:db8::1", "[2001:db8::1]") is returned as is without a lookup. Never empty on success.
Result<std::vector<IpAddress>> resolveHost(const std::string& host);

}  // namespace tincan::net
