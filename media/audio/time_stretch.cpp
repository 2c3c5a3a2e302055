#include "media/audio/time_stretch.hpp"

#include <cstring>

namespace tincan::media {

int spliceAudio(const int16_t* in, int n, int channels, int a, int b, int fade, int16_t* out) {
    const size_t ch = size_t(channels);
    std::memcpy(out, in, size_t(a) * ch * 2);
    int16_t* o = out + size_t(a) * ch;
    for (int k = 0; k < fade; ++k) {
        const int w = (k * 256) / fade;  // 0 → 256 across the fade
        for (size_t c = 0; c < ch; ++c) {
            const int x = in[size_t(a + k) * ch + c], y = in[size_t(b + k) * ch + c];
            *o++ = int16_t((x * (256 - w) + y * w) / 256);
        }
    }
    const int tail = n - (b + fade);
    std::memcpy(o, in + size_t(b + fade) * ch, size_t(tail) * ch * 2);
    return n - (b - a);
}

}  // namespace tincan::media
