// A whole VP8 frame put back together from its RTP packets, with what the frame buffer needs
// to order it and judge whether it can be decoded.
#pragma once

#include <cstdint>

#include "core/common/bytes.hpp"
#include "core/common/time.hpp"

namespace tincan::media {

struct AssembledFrame {
    Bytes data;  // the VP8 frame, descriptors stripped
    uint32_t rtpTimestamp = 0;
    int64_t firstSeq = 0;  // unwrapped RTP sequence numbers of its first and last packets
    int64_t lastSeq = 0;
    bool keyframe = false;
    int width = 0;  // keyframes only
    int height = 0;
    int pictureId = -1;  // 15- or 7-bit as sent; -1 when absent
    int tl0PicIdx = -1;
    int temporalId = -1;
    bool layerSync = false;
    bool nonReference = false;
    Timestamp lastArrival{};  // when its last missing packet came in
};

}  // namespace tincan::media
