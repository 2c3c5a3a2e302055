// libFuzzer target for ICE candidate lines (core/ice/candidate.cpp), as they arrive trickled
// from a remote peer (RFC 8839 §5.1, W3C RTCIceCandidateInit.candidate).
//
// Any input: parseCandidate returns a candidate or an error with a reason, never crashes. A
// candidate is written again with toSdp() and parsed again, which must give the same candidate,
// and writing that gives the same line (toSdp is a fixed point after one round). A broken
// invariant traps.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/ice/candidate.hpp"

using namespace tincan;
using namespace tincan::ice;

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

bool same(const Candidate& a, const Candidate& b) {
    return a.foundation == b.foundation && a.component == b.component &&
           a.transport == b.transport && a.priority == b.priority && a.address == b.address &&
           a.hostname == b.hostname && a.type == b.type && a.related == b.related &&
           a.tcpType == b.tcpType;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto result = parseCandidate(text);
    if (!result) {
        check(!result.error().message.empty());
        return 0;
    }
    const Candidate& c = *result;
    check(c.component >= 1 && c.component <= 256);
    check(c.priority != 0);
    check(!c.foundation.empty() && c.foundation.size() <= 32);
    check(c.isMdns() == !c.hostname.empty());
    (void)toString(c.type);
    (void)typePreference(c.type);

    const std::string line = c.toSdp();
    auto again = parseCandidate(line);
    auto* back = again ? &*again : nullptr;
    check(back != nullptr);
    check(same(c, *back));
    check(back->toSdp() == line);
    // The other accepted spellings of the same line.
    auto prefixed = parseCandidate("a=" + line + "\r\n");
    check(prefixed.ok() && same(c, *prefixed));
    return 0;
}
