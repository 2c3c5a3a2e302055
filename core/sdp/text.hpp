// Small text helpers shared by the SDP parser and writer (internal to core/sdp).
#pragma once

#include <charconv>
#include <string_view>
#include <vector>

namespace tincan::sdp::detail {

// RFC 8866 §9 token-char.
constexpr bool isTokenChar(char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2A || c == 0x2B || c == 0x2D ||
           c == 0x2E || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) ||
           (c >= 0x5E && c <= 0x7E);
}

// Unsigned decimal, digits only, the whole string, no overflow.
template <typename T>
bool parseNumber(std::string_view s, T& out) {
    if (s.empty() || s.front() < '0' || s.front() > '9') return false;
    T value{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || p != s.data() + s.size()) return false;
    out = value;
    return true;
}

// Fields separated by one or more spaces.
inline std::vector<std::string_view> splitSpaces(std::string_view s) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && s[i] == ' ') ++i;
        size_t j = i;
        while (j < s.size() && s[j] != ' ') ++j;
        if (j > i) out.push_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

inline std::string_view trim(std::string_view s) {
    size_t b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) return {};
    size_t e = s.find_last_not_of(" \t");
    return s.substr(b, e - b + 1);
}

}  // namespace tincan::sdp::detail
