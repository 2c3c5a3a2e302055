#include "media/capture_qt/qt_frame_convert.hpp"

#include <QVideoFrame>
#include <QVideoFrameFormat>
#include <algorithm>
#include <cstring>

namespace tincan::media {
namespace {

// BT.601 limited range, 8-bit fixed point (the usual libyuv coefficients).
inline uint8_t yOf(int r, int g, int b) {
    return uint8_t((66 * r + 129 * g + 25 * b + 128) / 256 + 16);
}
inline uint8_t uOf(int r, int g, int b) {
    return uint8_t((-38 * r - 74 * g + 112 * b + 128) / 256 + 128);
}
inline uint8_t vOf(int r, int g, int b) {
    return uint8_t((112 * r - 94 * g - 18 * b + 128) / 256 + 128);
}

void copyPlane(uint8_t* dst, int dstStride, const uint8_t* src, int srcStride, int w, int h) {
    for (int y = 0; y < h; ++y)
        std::memcpy(dst + size_t(y) * dstStride, src + size_t(y) * srcStride, size_t(w));
}

// Byte offsets of R, G and B inside a 4-byte pixel, or false for a format that is not 32-bit RGB.
bool rgbOffsets(QVideoFrameFormat::PixelFormat f, int& r, int& g, int& b) {
    switch (f) {
        case QVideoFrameFormat::Format_BGRA8888:
        case QVideoFrameFormat::Format_BGRA8888_Premultiplied:
        case QVideoFrameFormat::Format_BGRX8888:
            r = 2, g = 1, b = 0;
            return true;
        case QVideoFrameFormat::Format_RGBA8888:
        case QVideoFrameFormat::Format_RGBX8888:
            r = 0, g = 1, b = 2;
            return true;
        case QVideoFrameFormat::Format_ARGB8888:
        case QVideoFrameFormat::Format_ARGB8888_Premultiplied:
        case QVideoFrameFormat::Format_XRGB8888:
            r = 1, g = 2, b = 3;
            return true;
        case QVideoFrameFormat::Format_ABGR8888:
        case QVideoFrameFormat::Format_XBGR8888:
            r = 3, g = 2, b = 1;
            return true;
        default:
            return false;
    }
}

void fromRgb(const uint8_t* src, int stride, int ro, int go, int bo, I420Frame& out) {
    const int w = out.width, h = out.height;
    for (int y = 0; y < h; ++y) {
        const uint8_t* row = src + size_t(y) * stride;
        uint8_t* yRow = out.y() + size_t(y) * out.strideY();
        for (int x = 0; x < w; ++x)
            yRow[x] = yOf(row[4 * x + ro], row[4 * x + go], row[4 * x + bo]);
    }
    // Chroma from the mean of each 2x2 block.
    for (int cy = 0; cy < out.chromaHeight(); ++cy) {
        const uint8_t* r0 = src + size_t(2 * cy) * stride;
        const uint8_t* r1 = src + size_t(std::min(2 * cy + 1, h - 1)) * stride;
        for (int cx = 0; cx < out.chromaWidth(); ++cx) {
            const int x0 = 4 * (2 * cx), x1 = 4 * std::min(2 * cx + 1, w - 1);
            const int r = (r0[x0 + ro] + r0[x1 + ro] + r1[x0 + ro] + r1[x1 + ro] + 2) / 4;
            const int g = (r0[x0 + go] + r0[x1 + go] + r1[x0 + go] + r1[x1 + go] + 2) / 4;
            const int b = (r0[x0 + bo] + r0[x1 + bo] + r1[x0 + bo] + r1[x1 + bo] + 2) / 4;
            out.u()[size_t(cy) * out.strideUV() + cx] = uOf(r, g, b);
            out.v()[size_t(cy) * out.strideUV() + cx] = vOf(r, g, b);
        }
    }
}

}  // namespace

bool convertToI420(const QVideoFrame& in, I420Frame& out, std::string& error) {
    QVideoFrame frame(in);  // shallow: mapping needs a non-const handle
    const auto format = frame.pixelFormat();
    const int w = frame.width(), h = frame.height();
    if (w < 2 || h < 2) {
        error = "empty video frame";
        return false;
    }
    if (!frame.map(QVideoFrame::ReadOnly)) {
        error = "cannot map the video frame";
        return false;
    }
    struct Unmap {
        QVideoFrame& f;
        ~Unmap() { f.unmap(); }
    } unmap{frame};
    out.resize(w, h);
    const int cw = out.chromaWidth(), ch = out.chromaHeight();
    int ro = 0, go = 0, bo = 0;
    switch (format) {
        case QVideoFrameFormat::Format_YUV420P:
        case QVideoFrameFormat::Format_YV12: {
            const bool yv12 = format == QVideoFrameFormat::Format_YV12;
            copyPlane(out.y(), out.strideY(), frame.bits(0), frame.bytesPerLine(0), w, h);
            copyPlane(yv12 ? out.v() : out.u(), out.strideUV(), frame.bits(1),
                      frame.bytesPerLine(1), cw, ch);
            copyPlane(yv12 ? out.u() : out.v(), out.strideUV(), frame.bits(2),
                      frame.bytesPerLine(2), cw, ch);
            return true;
        }
        case QVideoFrameFormat::Format_NV12:
        case QVideoFrameFormat::Format_NV21: {
            const bool nv21 = format == QVideoFrameFormat::Format_NV21;
            copyPlane(out.y(), out.strideY(), frame.bits(0), frame.bytesPerLine(0), w, h);
            for (int y = 0; y < ch; ++y) {
                const uint8_t* uv = frame.bits(1) + size_t(y) * frame.bytesPerLine(1);
                uint8_t* u = out.u() + size_t(y) * out.strideUV();
                uint8_t* v = out.v() + size_t(y) * out.strideUV();
                for (int x = 0; x < cw; ++x) {
                    u[x] = uv[2 * x + (nv21 ? 1 : 0)];
                    v[x] = uv[2 * x + (nv21 ? 0 : 1)];
                }
            }
            return true;
        }
        case QVideoFrameFormat::Format_YUYV:
        case QVideoFrameFormat::Format_UYVY: {
            // 4:2:2 packed: Y0 U Y1 V (YUYV) or U Y0 V Y1 (UYVY); chroma taken from even rows.
            const bool yuyv = format == QVideoFrameFormat::Format_YUYV;
            const int yo = yuyv ? 0 : 1, uo = yuyv ? 1 : 0, vo = yuyv ? 3 : 2;
            for (int y = 0; y < h; ++y) {
                const uint8_t* row = frame.bits(0) + size_t(y) * frame.bytesPerLine(0);
                uint8_t* yRow = out.y() + size_t(y) * out.strideY();
                for (int x = 0; x < w; ++x) yRow[x] = row[2 * x + yo];
                if (y % 2) continue;
                uint8_t* u = out.u() + size_t(y / 2) * out.strideUV();
                uint8_t* v = out.v() + size_t(y / 2) * out.strideUV();
                for (int x = 0; x < cw; ++x) {
                    u[x] = row[4 * x + uo];
                    v[x] = row[4 * x + vo];
                }
            }
            return true;
        }
        default:
            if (rgbOffsets(format, ro, go, bo)) {
                fromRgb(frame.bits(0), frame.bytesPerLine(0), ro, go, bo, out);
                return true;
            }
            error = "unsupported camera pixel format " +
                    QVideoFrameFormat::pixelFormatToString(format).toStdString();
            return false;
    }
}

}  // namespace tincan::media
