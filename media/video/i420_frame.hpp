// Raw video in I420 (YUV 4:2:0, three planes), the one pixel format between capture, codec and
// render. A frame owns one buffer that is reused from frame to frame (resize() never shrinks
// capacity), so a steady stream of same-size frames allocates nothing.
#pragma once

#include <cstdint>

#include "core/common/bytes.hpp"

namespace tincan::media {

// A non-owning look at I420 pixels (a decoder's output, a camera buffer, an I420Frame).
struct I420View {
    int width = 0;
    int height = 0;
    const uint8_t* y = nullptr;
    const uint8_t* u = nullptr;
    const uint8_t* v = nullptr;
    int strideY = 0;
    int strideU = 0;
    int strideV = 0;
    int64_t captureTimeUs = 0;  // sender's capture clock, microseconds
    uint32_t rtpTimestamp = 0;  // 90 kHz

    int chromaWidth() const { return (width + 1) / 2; }
    int chromaHeight() const { return (height + 1) / 2; }
};

struct I420Frame {
    int width = 0;
    int height = 0;
    int64_t captureTimeUs = 0;
    uint32_t rtpTimestamp = 0;
    Bytes data;  // Y plane, then U, then V; tightly packed (stride == plane width)

    int strideY() const { return width; }
    int strideUV() const { return chromaWidth(); }
    int chromaWidth() const { return (width + 1) / 2; }
    int chromaHeight() const { return (height + 1) / 2; }
    size_t sizeY() const { return size_t(width) * size_t(height); }
    size_t sizeUV() const { return size_t(chromaWidth()) * size_t(chromaHeight()); }

    uint8_t* y() { return data.data(); }
    uint8_t* u() { return data.data() + sizeY(); }
    uint8_t* v() { return data.data() + sizeY() + sizeUV(); }
    const uint8_t* y() const { return data.data(); }
    const uint8_t* u() const { return data.data() + sizeY(); }
    const uint8_t* v() const { return data.data() + sizeY() + sizeUV(); }

    void resize(int w, int h);
    I420View view() const;
    // Copies pixels (any strides) and timing from a view; resizes as needed.
    void copyFrom(const I420View& src);
};

}  // namespace tincan::media
