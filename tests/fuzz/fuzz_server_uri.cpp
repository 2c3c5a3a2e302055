// libFuzzer target for STUN/TURN server URIs (core/ice/server_uri.cpp, RFC 7064 / RFC 7065), as
// a user types them on the command line or in settings.
//
// Any input: parseServerUri returns a URI or an error with a reason, never crashes. A URI is
// written with toString() and parsed again, which must give the same URI, and writing that gives
// the same text. A broken invariant traps.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/ice/server_uri.hpp"

using namespace tincan;
using namespace tincan::ice;

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

bool same(const ServerUri& a, const ServerUri& b) {
    return a.scheme == b.scheme && a.host == b.host && a.port == b.port &&
           a.transport == b.transport;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto result = parseServerUri(text);
    if (!result) {
        check(!result.error().message.empty());
        return 0;
    }
    const ServerUri& u = *result;
    check(!u.host.empty());
    check(u.port != 0);
    const bool tls = u.scheme == ServerUri::Scheme::Stuns || u.scheme == ServerUri::Scheme::Turns;
    check(tls == (u.transport == TransportProtocol::Tls));
    if (u.scheme == ServerUri::Scheme::Stun) check(u.transport == TransportProtocol::Udp);

    const std::string written = u.toString();
    auto again = parseServerUri(written);
    auto* back = again ? &*again : nullptr;
    check(back != nullptr);
    check(same(u, *back));
    check(back->toString() == written);
    return 0;
}
