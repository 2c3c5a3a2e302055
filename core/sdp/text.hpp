// Small text helpers shared by the SDP parser and writer (internal to core/sdp).
#pragma once

#include <string_view>

#include "core/common/text.hpp"

namespace tincan::sdp::detail {

// RFC 8866 §9 token-char.
constexpr bool isTokenChar(char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2A || c == 0x2B || c == 0x2D ||
           c == 0x2E || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) ||
           (c >= 0x5E && c <= 0x7E);
}

using tincan::parseNumber;
using tincan::splitSpaces;

inline std::string_view trim(std::string_view s) {
    size_t b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) return {};
    size_t e = s.find_last_not_of(" \t");
    return s.substr(b, e - b + 1);
}

}  // namespace tincan::sdp::detail
