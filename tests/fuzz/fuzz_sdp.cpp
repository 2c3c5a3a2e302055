// libFuzzer target for the SDP parser and writer (core/sdp).
//
// Any input: parse must return a description or an error, never crash or hang. An error is one
// line that names the line it failed on, quotes that line (cut to 80 characters) and gives a
// reason. A description is serialized and parsed again, which must succeed with the same model,
// and serializing that gives the same text (serialize is a fixed point after one round). The
// helpers run on every section. A broken invariant traps.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

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

// Line `n` (1-based) of `text` as an error quotes it: without its CR, at most 80 characters,
// control characters as '?'; "" past the end.
std::string quotedLine(std::string_view text, size_t n) {
    std::string_view line;
    for (size_t i = 0; i < n; ++i) {
        if (text.empty()) return "";
        size_t nl = text.find('\n');
        line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string out(line.substr(0, 80));
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
    return out;
}

// "SDP: <reason>" or "SDP line <n>[ (<line n, quoted>)]: <reason>", with a reason.
void checkError(std::string_view text, std::string_view message) {
    check(message.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);
    if (message.starts_with("SDP: ")) {
        check(message.size() > 5);
        return;
    }
    check(message.starts_with("SDP line "));
    size_t n = 0;
    const char* end = message.data() + message.size();
    auto [rest, ec] = std::from_chars(message.data() + 9, end, n);
    check(ec == std::errc() && n >= 1);
    const std::string quoted = quotedLine(text, n);
    check(quoted.size() <= 80);
    const std::string expected = quoted.empty() ? ": " : " (" + quoted + "): ";
    const std::string_view after(rest, size_t(end - rest));
    check(after.starts_with(expected) && after.size() > expected.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto result = parse(text);
    if (!result) {
        checkError(text, result.error().message);
        return 0;
    }
    const SessionDescription& d = *result;
    exerciseHelpers(d);

    std::string out = serialize(d);
    // The size limit is on what is received; the canonical form can be a little longer
    // (CRLF for bare LF, c= and direction lines written out).
    if (out.size() > kMaxSdpBytes) return 0;
    auto again = parse(out);
    auto* back = again ? &*again : nullptr;
    check(back != nullptr);
    check(*back == d);
    check(serialize(*back) == out);
    return 0;
}
