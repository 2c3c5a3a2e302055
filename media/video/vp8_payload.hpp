// The VP8 payload descriptor, RFC 7741 §4.2, and the first bytes of the VP8 payload header
// (§4.3) that tell a keyframe and its size.
//
//      0 1 2 3 4 5 6 7
//     +-+-+-+-+-+-+-+-+
//     |X|R|N|S|R| PID |  X: extension, N: non-reference, S: start of partition
//     +-+-+-+-+-+-+-+-+
//  X: |I|L|T|K| RSV   |
//  I: |M| PictureID   |  M: 15-bit PictureID follows
//     |   PictureID   |
//  L: |   TL0PICIDX   |
// T/K:|TID|Y| KEYIDX  |
#pragma once

#include <cstdint>
#include <optional>

#include "core/common/bytes.hpp"

namespace tincan::media {

struct Vp8Descriptor {
    bool nonReference = false;
    bool startOfPartition = false;
    uint8_t partitionIndex = 0;
    int pictureId = -1;  // -1 when absent
    bool pictureId15 = true;
    int tl0PicIdx = -1;   // -1 when absent
    int temporalId = -1;  // -1 when absent
    bool layerSync = false;
    int keyIdx = -1;
    size_t size = 0;  // bytes the descriptor takes

    // The first packet of a frame: S = 1 and PID = 0 (RFC 7741 §4.4).
    bool startsFrame() const { return startOfPartition && partitionIndex == 0; }

    // Serialises into `out` (at least maxSize bytes); returns the bytes written.
    size_t write(uint8_t* out) const;
    size_t encodedSize() const;
    static constexpr size_t kMaxSize = 6;
};

// nullopt for a malformed descriptor (truncated, or nothing after it).
std::optional<Vp8Descriptor> parseVp8Descriptor(ByteView payload);

// RFC 7741 §4.3 / RFC 6386 §9.1: on the first packet of a frame, after the descriptor.
struct Vp8PayloadHeader {
    bool keyframe = false;
    int width = 0;  // keyframes only
    int height = 0;
};
std::optional<Vp8PayloadHeader> parseVp8PayloadHeader(ByteView vp8);

}  // namespace tincan::media
