// Byte buffers as the public API and core pass them.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace tincan {

using Bytes = std::vector<uint8_t>;
// A view into someone else's bytes. Where a callback receives one, it is valid only until the
// callback returns: copy what you keep.
using ByteView = std::span<const uint8_t>;

inline ByteView asBytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view asString(ByteView b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace tincan
