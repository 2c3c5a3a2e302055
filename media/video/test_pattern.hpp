// A synthetic camera: a moving picture that carries its frame counter and capture time in its
// pixels, so a receiver can read both back from decoded frames (order, loss, end-to-end latency).
//
// The top of the frame is a 12x8 grid of big black/white cells holding 96 bits: the 32-bit
// counter, the low 48 bits of captureTimeUs and a CRC-16 over both. Cells are tens of pixels
// wide, so they survive VP8 at low bitrates; the reader samples each cell's centre, refuses
// cells whose mean is near mid-grey, and checks the CRC, so a damaged frame reads as
// "unreadable" rather than as a wrong number. Below the grid, moving bars and a moving box give
// the encoder real motion to code.
#pragma once

#include <cstdint>
#include <optional>

#include "media/video/i420_frame.hpp"

namespace tincan::media {

struct TestPatternStamp {
    uint32_t counter = 0;
    uint64_t captureTimeUs = 0;  // low 48 bits of the capture time
};

class TestPatternSource {
public:
    // width and height at least kMinWidth x kMinHeight; fps > 0.
    TestPatternSource(int width, int height, int fps);

    static constexpr int kMinWidth = 96;
    static constexpr int kMinHeight = 64;

    // Draws the next frame into `out` (buffer reused) stamped with the next counter and the given
    // capture time; rtpTimestamp is the capture time on the 90 kHz clock.
    void generate(I420Frame& out, int64_t captureTimeUs);

    int width() const { return width_; }
    int height() const { return height_; }
    int fps() const { return fps_; }
    int64_t frameIntervalUs() const { return 1'000'000 / fps_; }
    uint32_t nextCounter() const { return counter_; }

private:
    int width_;
    int height_;
    int fps_;
    uint32_t counter_ = 0;
};

// Reads the stamp back from a (decoded) frame; nullopt when any cell is ambiguous or the CRC
// does not match.
std::optional<TestPatternStamp> readTestPattern(const I420View& frame);

// The 48-bit capture-time field, for comparing a read stamp with a full clock value.
constexpr uint64_t kTestPatternTimeMask = (uint64_t(1) << 48) - 1;

}  // namespace tincan::media
