#include "ui/bridge/i420_image.hpp"

#include <algorithm>
#include <vector>

namespace tincan::ui {

QImage i420ToImage(const media::I420View& f, QSize fit) {
    if (f.width <= 0 || f.height <= 0 || !f.y || !f.u || !f.v || f.strideY < f.width ||
        f.strideU < f.chromaWidth() || f.strideV < f.chromaWidth())
        return {};
    QSize size(f.width, f.height);
    if (fit.width() > 0 && fit.height() > 0) size = size.scaled(fit, Qt::KeepAspectRatio);
    const int w = std::max(1, size.width()), h = std::max(1, size.height());
    QImage out(w, h, QImage::Format_RGB32);
    if (out.isNull()) return {};
    // Source column of each output column, sampled at the pixel's centre.
    std::vector<int> columns(static_cast<size_t>(w));
    for (int x = 0; x < w; ++x)
        columns[size_t(x)] = std::min(f.width - 1, int((int64_t(2 * x + 1) * f.width) / (2 * w)));
    // ITU-R BT.601, video range (Y 16..235, U/V 16..240), in 8.8 fixed point.
    auto clamp = [](int v) { return uint32_t(std::clamp(v >> 8, 0, 255)); };
    for (int row = 0; row < h; ++row) {
        const int sy = std::min(f.height - 1, int((int64_t(2 * row + 1) * f.height) / (2 * h)));
        const uint8_t* y = f.y + size_t(sy) * size_t(f.strideY);
        const uint8_t* u = f.u + size_t(sy / 2) * size_t(f.strideU);
        const uint8_t* v = f.v + size_t(sy / 2) * size_t(f.strideV);
        auto* line = reinterpret_cast<uint32_t*>(out.scanLine(row));
        for (int x = 0; x < w; ++x) {
            const int sx = columns[size_t(x)];
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
