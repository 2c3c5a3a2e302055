// Small helpers shared by the STUN tests.
#pragma once

#include <gtest/gtest.h>

#include <ostream>
#include <variant>

#include "core/common/endpoint.hpp"
#include "core/stun/message.hpp"

namespace tincan {
// Readable gtest failures for endpoints.
inline void PrintTo(const Endpoint& e, std::ostream* os) {
    *os << e.toString();
}
}  // namespace tincan

namespace tincan::stun::testutil {

inline Message mustParse(ByteView bytes) {
    auto r = parse(bytes);
    if (!r) {
        ADD_FAILURE() << "parse failed: " << r.error().message;
        return {};
    }
    return std::move(r).value();
}

// The reason parse() gives, or "" when it accepts the bytes.
inline std::string rejection(ByteView bytes) {
    auto r = parse(bytes);
    return r.message();
}

}  // namespace tincan::stun::testutil
