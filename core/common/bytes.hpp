// Byte buffers and big-endian (network order) helpers shared by every codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tincan/bytes.hpp"

namespace tincan {

inline uint16_t readU16(const uint8_t* p) {
    return uint16_t(p[0] << 8 | p[1]);
}
inline uint32_t readU32(const uint8_t* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
inline void writeU16(uint8_t* p, uint16_t v) {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
}
inline void writeU32(uint8_t* p, uint32_t v) {
    p[0] = uint8_t(v >> 24);
    p[1] = uint8_t(v >> 16);
    p[2] = uint8_t(v >> 8);
    p[3] = uint8_t(v);
}
inline void appendU16(Bytes& out, uint16_t v) {
    out.push_back(uint8_t(v >> 8));
    out.push_back(uint8_t(v));
}
inline void appendU32(Bytes& out, uint32_t v) {
    appendU16(out, uint16_t(v >> 16));
    appendU16(out, uint16_t(v));
}
inline void appendBytes(Bytes& out, ByteView v) {
    out.insert(out.end(), v.begin(), v.end());
}

std::string toHex(ByteView bytes);

}  // namespace tincan
