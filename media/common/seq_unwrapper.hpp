// Extends wrapping counters (RTP sequence numbers, VP8 PictureIDs) to monotonic 64-bit values,
// assuming consecutive values are less than half the range apart (RFC 3550 §A.1's reasoning).
#pragma once

#include <cstdint>

namespace tincan::media {

template <int Bits>
class Unwrapper {
public:
    static constexpr int64_t kRange = int64_t(1) << Bits;

    int64_t unwrap(uint32_t value) {
        value &= uint32_t(kRange - 1);
        if (!started_) {
            started_ = true;
            last_ = kRange * 4 + value;  // room below the first value for reordered packets
            return last_;
        }
        int64_t delta = (int64_t(value) - last_) & (kRange - 1);
        if (delta >= kRange / 2) delta -= kRange;
        const int64_t result = last_ + delta;
        if (result > last_) last_ = result;
        return result;
    }
    // Unwraps without moving the reference point (for values that may be stale).
    int64_t peek(uint32_t value) const {
        if (!started_) return kRange * 4 + (value & uint32_t(kRange - 1));
        int64_t delta = (int64_t(value & uint32_t(kRange - 1)) - last_) & (kRange - 1);
        if (delta >= kRange / 2) delta -= kRange;
        return last_ + delta;
    }
    void reset() { started_ = false; }

private:
    bool started_ = false;
    int64_t last_ = 0;
};

using SeqUnwrapper = Unwrapper<16>;
using PictureIdUnwrapper = Unwrapper<15>;

}  // namespace tincan::media
