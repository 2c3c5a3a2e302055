// One compressed video frame as it leaves the encoder (and as the packetizer takes it).
#pragma once

#include <cstdint>

#include "core/common/bytes.hpp"

namespace tincan::media {

struct EncodedVideoFrame {
    ByteView data;  // valid until the encoder's next call
    bool keyframe = false;
    int width = 0;
    int height = 0;
    int64_t captureTimeUs = 0;
    uint32_t rtpTimestamp = 0;  // 90 kHz
    // Temporal scalability (RFC 7741 §4.2 TID/Y, N): layer 0 frames form the base chain;
    // layer 1 frames reference only the latest layer-0 frame and are never referenced.
    int temporalId = 0;
    bool layerSync = false;
    bool nonReference = false;
    int qp = 0;  // the frame's quantizer, 0..63, for quality adaptation
};

}  // namespace tincan::media
