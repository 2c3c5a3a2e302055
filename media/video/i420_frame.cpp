#include "media/video/i420_frame.hpp"

#include <cstring>

namespace tincan::media {

void I420Frame::resize(int w, int h) {
    width = w;
    height = h;
    data.resize(sizeY() + 2 * sizeUV());
}

I420View I420Frame::view() const {
    I420View v;
    v.width = width;
    v.height = height;
    v.y = y();
    v.u = u();
    v.v = this->v();
    v.strideY = strideY();
    v.strideU = v.strideV = strideUV();
    v.captureTimeUs = captureTimeUs;
    v.rtpTimestamp = rtpTimestamp;
    return v;
}

static void copyPlane(uint8_t* dst, int dstStride, const uint8_t* src, int srcStride, int w,
                      int h) {
    for (int row = 0; row < h; ++row)
        std::memcpy(dst + size_t(row) * dstStride, src + size_t(row) * srcStride, size_t(w));
}

void I420Frame::copyFrom(const I420View& src) {
    resize(src.width, src.height);
    copyPlane(y(), strideY(), src.y, src.strideY, width, height);
    copyPlane(u(), strideUV(), src.u, src.strideU, chromaWidth(), chromaHeight());
    copyPlane(v(), strideUV(), src.v, src.strideV, chromaWidth(), chromaHeight());
    captureTimeUs = src.captureTimeUs;
    rtpTimestamp = src.rtpTimestamp;
}

}  // namespace tincan::media
