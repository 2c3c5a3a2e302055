// Helpers shared by the SDP tests.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "core/sdp/sdp.hpp"

namespace tincan::sdp::test {

inline std::string readFixture(const std::string& name) {
    auto path = std::filesystem::path(__FILE__).parent_path() / "fixtures" / name;
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in) << "cannot open " << path;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Parses text that must be valid, failing the test with the parser's message otherwise.
inline SessionDescription parseOk(std::string_view text) {
    auto r = parse(text);
    if (!r) {
        ADD_FAILURE() << r.error().message;
        return {};
    }
    return std::move(r).value();
}

// The parser's message for text that must be rejected.
inline std::string parseError(std::string_view text) {
    auto r = parse(text);
    if (r) {
        ADD_FAILURE() << "expected a parse error for:\n" << text;
        return {};
    }
    return r.error().message;
}

// Joins lines with CRLF, ending with one.
inline std::string crlf(std::initializer_list<std::string_view> lines) {
    std::string s;
    for (auto l : lines) {
        s += l;
        s += "\r\n";
    }
    return s;
}

}  // namespace tincan::sdp::test
