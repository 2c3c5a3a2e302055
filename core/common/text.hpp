// Small text helpers shared by the parsers (candidates, SDP).
#pragma once

#include <charconv>
#include <string_view>
#include <vector>

namespace tincan {

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

}  // namespace tincan
