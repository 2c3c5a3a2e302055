#include "ui/bridge/i420_image.hpp"

#include <algorithm>

namespace tincan::ui {

QImage i420ToImage(const media::I420View& f, int step) {
    step = std::max(1, step);
    if (f.width <= 0 || f.height <= 0 || !f.y || !f.u || !f.v || f.strideY < f.width ||
        f.strideU < f.chromaWidth() || f.strideV < f.chromaWidth())
        return {};
    const int w = std::max(1, f.width / step), h = std::max(1, f.height / step);
    QImage out(w, h, QImage::Format_RGB32);
    if (out.isNull()) return {};
    // ITU-R BT.601, video range (Y 16..235, U/V 16..240), in 8.8 fixed point.
    auto clamp = [](int v) { return uint32_t(std::clamp(v >> 8, 0, 255)); };
    for (int row = 0; row < h; ++row) {
        const int sy = row * step;
        const uint8_t* y = f.y + size_t(sy) * size_t(f.strideY);
        const uint8_t* u = f.u + size_t(sy / 2) * size_t(f.strideU);
        const uint8_t* v = f.v + size_t(sy / 2) * size_t(f.strideV);
        auto* line = reinterpret_cast<uint32_t*>(out.scanLine(row));
        for (int x = 0; x < w; ++x) {
            const int sx = x * step;
            const int c = 298 * (int(y[sx]) - 16) + 128;
            const int d = int(u[sx / 2]) - 128;
            const int e = int(v[sx / 2]) - 128;
            line[x] = 0xFF000000u | clamp(c + 409 * e) << 16 | clamp(c - 100 * d - 208 * e) << 8 |
                      clamp(c + 516 * d);
        }
    }
    return out;
}

}  // namespace tincan::ui
