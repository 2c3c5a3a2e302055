#include "media/call/i420_scale.hpp"

#include <algorithm>
#include <cstdint>

namespace tincan::media {

namespace {

// 16.16 fixed point, sampling at pixel centres so that the picture does not drift.
void scalePlane(const uint8_t* src, int srcStride, int srcW, int srcH, uint8_t* dst, int dstW,
                int dstH) {
    if (srcW == dstW && srcH == dstH) {
        for (int y = 0; y < dstH; ++y)
            std::copy_n(src + size_t(y) * size_t(srcStride), size_t(dstW),
                        dst + size_t(y) * size_t(dstW));
        return;
    }
    const int64_t stepX = (int64_t(srcW) << 16) / dstW;
    const int64_t stepY = (int64_t(srcH) << 16) / dstH;
    for (int y = 0; y < dstH; ++y) {
        const int64_t fy =
            std::clamp<int64_t>(y * stepY + stepY / 2 - 32768, 0, int64_t(srcH - 1) << 16);
        const int y0 = int(fy >> 16), y1 = std::min(y0 + 1, srcH - 1);
        const int wy = int(fy & 0xFFFF);
        const uint8_t* r0 = src + size_t(y0) * size_t(srcStride);
        const uint8_t* r1 = src + size_t(y1) * size_t(srcStride);
        uint8_t* out = dst + size_t(y) * size_t(dstW);
        for (int x = 0; x < dstW; ++x) {
            const int64_t fx =
                std::clamp<int64_t>(x * stepX + stepX / 2 - 32768, 0, int64_t(srcW - 1) << 16);
            const int x0 = int(fx >> 16), x1 = std::min(x0 + 1, srcW - 1);
            const int wx = int(fx & 0xFFFF);
            const int64_t top = r0[x0] * int64_t(65536 - wx) + r0[x1] * int64_t(wx);
            const int64_t bottom = r1[x0] * int64_t(65536 - wx) + r1[x1] * int64_t(wx);
            const int64_t v = (top * (65536 - wy) + bottom * wy + (int64_t(1) << 31)) >> 32;
            out[x] = uint8_t(std::clamp<int64_t>(v, 0, 255));
        }
    }
}

}  // namespace

void scaleI420(const I420View& src, I420Frame& dst, int width, int height) {
    dst.resize(width, height);
    scalePlane(src.y, src.strideY, src.width, src.height, dst.y(), width, height);
    scalePlane(src.u, src.strideU, src.chromaWidth(), src.chromaHeight(), dst.u(),
               dst.chromaWidth(), dst.chromaHeight());
    scalePlane(src.v, src.strideV, src.chromaWidth(), src.chromaHeight(), dst.v(),
               dst.chromaWidth(), dst.chromaHeight());
    dst.captureTimeUs = src.captureTimeUs;
    dst.rtpTimestamp = src.rtpTimestamp;
}

}  // namespace tincan::media
