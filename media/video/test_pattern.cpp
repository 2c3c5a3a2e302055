#include "media/video/test_pattern.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace tincan::media {
namespace {

constexpr int kCols = 12;
constexpr int kRows = 8;
constexpr int kBits = kCols * kRows;  // 32 counter + 48 time + 16 CRC
constexpr uint8_t kBlack = 16;        // video-range luma
constexpr uint8_t kWhite = 235;
constexpr uint8_t kGrey = 128;
// A cell whose mean lies within this distance of mid-grey is unreadable: compression moved it
// too far to trust.
constexpr int kAmbiguousBand = 45;

struct Grid {
    int cellW, cellH, left, top;
};

Grid gridFor(int width, int height) {
    Grid g{};
    g.cellW = width / kCols;
    g.cellH = std::min(g.cellW, (height / 2) / kRows);
    g.left = (width - g.cellW * kCols) / 2;
    g.top = 0;
    return g;
}

// CRC-16/CCITT-FALSE over the 80 payload bits, packed in 10 bytes.
uint16_t crc16(const uint8_t* p, size_t n) {
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < n; ++i) {
        crc ^= uint16_t(p[i] << 8);
        for (int b = 0; b < 8; ++b)
            crc = (crc & 0x8000) ? uint16_t(crc << 1 ^ 0x1021) : uint16_t(crc << 1);
    }
    return crc;
}

std::array<uint8_t, 12> packStamp(uint32_t counter, uint64_t timeUs) {
    std::array<uint8_t, 12> b{};
    writeU32(b.data(), counter);
    for (int i = 0; i < 6; ++i) b[4 + i] = uint8_t(timeUs >> (40 - 8 * i));
    writeU16(b.data() + 10, crc16(b.data(), 10));
    return b;
}

bool bitOf(const std::array<uint8_t, 12>& b, int i) {
    return (b[i / 8] >> (7 - i % 8)) & 1;
}

}  // namespace

TestPatternSource::TestPatternSource(int width, int height, int fps)
    : width_(std::max(width, kMinWidth)),
      height_(std::max(height, kMinHeight)),
      fps_(std::max(fps, 1)) {}

void TestPatternSource::generate(I420Frame& out, int64_t captureTimeUs) {
    out.resize(width_, height_);
    out.captureTimeUs = captureTimeUs;
    out.rtpTimestamp = uint32_t(uint64_t(captureTimeUs) * 9 / 100);
    const uint32_t n = counter_++;
    const Grid g = gridFor(width_, height_);
    const int bandH = g.cellH * kRows;
    const auto bits = packStamp(n, uint64_t(captureTimeUs) & kTestPatternTimeMask);

    // Luma, code band: one memset per cell run.
    uint8_t* y = out.y();
    for (int row = 0; row < bandH; ++row) {
        uint8_t* line = y + size_t(row) * out.strideY();
        std::memset(line, kGrey, size_t(width_));
        const int r = row / g.cellH;
        for (int c = 0; c < kCols; ++c)
            std::memset(line + g.left + c * g.cellW, bitOf(bits, r * kCols + c) ? kWhite : kBlack,
                        size_t(g.cellW));
    }
    // Luma, moving area: diagonal bars sliding 4 px a frame, and a box on a bouncing path.
    const int shift = int(n * 4);
    const int boxSize = std::max(16, height_ / 8);
    const int spanX = std::max(1, width_ - boxSize), spanY = std::max(1, height_ - bandH - boxSize);
    const int bx = int((n * 7) % uint32_t(2 * spanX)), by = int((n * 5) % uint32_t(2 * spanY));
    const int boxX = bx < spanX ? bx : 2 * spanX - bx;
    const int boxY = bandH + (by < spanY ? by : 2 * spanY - by);
    for (int row = bandH; row < height_; ++row) {
        uint8_t* line = y + size_t(row) * out.strideY();
        for (int x = 0; x < width_; ++x) line[x] = uint8_t(48 + (((x + row + shift) >> 1) & 127));
        if (row >= boxY && row < boxY + boxSize) std::memset(line + boxX, kWhite, size_t(boxSize));
    }
    // Chroma: neutral under the code band, slowly cycling colour below it.
    const int cw = out.chromaWidth(), ch = out.chromaHeight(), bandC = bandH / 2;
    for (int row = 0; row < ch; ++row) {
        uint8_t* u = out.u() + size_t(row) * out.strideUV();
        uint8_t* v = out.v() + size_t(row) * out.strideUV();
        if (row < bandC) {
            std::memset(u, kGrey, size_t(cw));
            std::memset(v, kGrey, size_t(cw));
            continue;
        }
        for (int x = 0; x < cw; ++x) {
            u[x] = uint8_t(64 + ((x * 128 / cw + int(n)) & 127));
            v[x] = uint8_t(64 + ((row * 128 / ch + int(n) * 2) & 127));
        }
    }
}

std::optional<TestPatternStamp> readTestPattern(const I420View& f) {
    if (f.width < TestPatternSource::kMinWidth || f.height < TestPatternSource::kMinHeight ||
        f.y == nullptr)
        return std::nullopt;
    const Grid g = gridFor(f.width, f.height);
    std::array<uint8_t, 12> b{};
    // The centre half of each cell, away from edges the codec smears.
    const int mx = g.cellW / 4, my = g.cellH / 4;
    for (int i = 0; i < kBits; ++i) {
        const int r = i / kCols, c = i % kCols;
        const int x0 = g.left + c * g.cellW + mx, x1 = g.left + (c + 1) * g.cellW - mx;
        const int y0 = g.top + r * g.cellH + my, y1 = g.top + (r + 1) * g.cellH - my;
        int sum = 0, count = 0;
        for (int yy = y0; yy < y1; ++yy) {
            const uint8_t* line = f.y + size_t(yy) * f.strideY;
            for (int xx = x0; xx < x1; ++xx) sum += line[xx];
            count += x1 - x0;
        }
        if (count == 0) return std::nullopt;
        const int mean = sum / count;
        const int mid = (kBlack + kWhite) / 2;
        if (mean > mid - kAmbiguousBand && mean < mid + kAmbiguousBand) return std::nullopt;
        if (mean >= mid) b[i / 8] = uint8_t(b[i / 8] | 1 << (7 - i % 8));
    }
    if (crc16(b.data(), 10) != readU16(b.data() + 10)) return std::nullopt;
    TestPatternStamp s;
    s.counter = readU32(b.data());
    for (int i = 0; i < 6; ++i) s.captureTimeUs = s.captureTimeUs << 8 | b[4 + i];
    return s;
}

}  // namespace tincan::media
