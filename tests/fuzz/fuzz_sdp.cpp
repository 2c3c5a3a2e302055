// libFuzzer target for the SDP parser and writer (core/sdp).
//
// Any input: parse must return a description or an error with a line and a reason, never crash
// or hang. A description is serialized and parsed again, which must succeed with the same model,
// and serializing that gives the same text (serialize is a fixed point after one round). The
// helpers run on every section. A broken invariant traps.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "core/sdp/sdp.hpp"

using namespace tincan;
using namespace tincan::sdp;

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

void exerciseHelpers(const SessionDescription& d) {
    for (const auto& m : d.media) {
        (void)d.effectiveIce(m);
        (void)d.effectiveIceTrickle(m);
        auto first = d.effectiveFingerprint(m);
        auto all = d.effectiveFingerprints(m);
        check(first.has_value() == !all.empty());
        if (first) check(all.front() == *first);
        (void)d.effectiveSetup(m);
        (void)m.rejected();
        (void)m.sctpPortOrDefault();
        (void)m.maxMessageSizeOrDefault();
        for (const auto& r : m.rtpmaps) check(m.findRtpMap(r.payloadType) == &r);
        if (!m.mid.empty()) check(d.findByMid(m.mid) == &m);
        for (const auto& c : m.candidates) (void)c.toSdp();
    }
    for (const auto& mid : d.bundleGroup) check(d.findByMid(mid) != nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto result = parse(text);
    if (auto* e = std::get_if<SdpError>(&result)) {
        check(!e->reason.empty());
        check(e->text.size() <= 80);
        check(!e->what().empty());
        return 0;
    }
    const SessionDescription& d = std::get<SessionDescription>(result);
    exerciseHelpers(d);

    std::string out = serialize(d);
    // The size limit is on what is received; the canonical form can be a little longer
    // (CRLF for bare LF, c= and direction lines written out).
    if (out.size() > kMaxSdpBytes) return 0;
    auto again = parse(out);
    auto* back = std::get_if<SessionDescription>(&again);
    check(back != nullptr);
    check(*back == d);
    check(serialize(*back) == out);
    return 0;
}
