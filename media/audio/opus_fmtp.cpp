#include "media/audio/opus_fmtp.hpp"

#include <charconv>

namespace tincan::media {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::optional<int> number(std::string_view v) {
    int n = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
    return n;
}

}  // namespace

OpusFmtp parseOpusFmtp(std::string_view fmtp) {
    OpusFmtp out;
    // RFC 8866 §6.15 leaves the format to the codec; RFC 7587 uses "name=value;name=value".
    while (!fmtp.empty()) {
        const size_t semi = fmtp.find(';');
        const std::string_view item = trim(fmtp.substr(0, semi));
        fmtp = semi == std::string_view::npos ? std::string_view() : fmtp.substr(semi + 1);
        const size_t eq = item.find('=');
        if (eq == std::string_view::npos) continue;
        const std::string_view name = trim(item.substr(0, eq));
        const auto value = number(trim(item.substr(eq + 1)));
        auto flag = [&](bool& field) {
            if (value && (*value == 0 || *value == 1))
                field = *value == 1;
            else
                ++out.malformed;
        };
        if (name == "usedtx") {
            flag(out.useDtx);
        } else if (name == "useinbandfec") {
            flag(out.useInbandFec);
        } else if (name == "stereo") {
            flag(out.stereo);
        } else if (name == "maxaveragebitrate") {
            // RFC 7587 §7.1: 6000 to 510000.
            if (value && *value >= 6000 && *value <= 510000)
                out.maxAverageBitrateBps = *value;
            else
                ++out.malformed;
        }
    }
    return out;
}

}  // namespace tincan::media
