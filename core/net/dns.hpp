// Host name resolution for applications (TURN/STUN server names), before or outside the
// network loop. Blocking: never call it on the Runtime's loop thread.
#pragma once

#include <string>
#include <vector>

#include "core/common/endpoint.hpp"

namespace tincan::net {

// Addresses of `host` in resolver order, without duplicates. An IP literal ("192.0.2.1",
// "2001:db8::1", "[2001:db8::1]") is returned as is without a lookup. On failure returns an
// empty vector and, if `error` is set, a reason.
std::vector<IpAddress> resolveHost(const std::string& host, std::string* error = nullptr);

}  // namespace tincan::net
