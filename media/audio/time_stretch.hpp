// The playout buffer's time stretch: shortens or lengthens a block of audio by splicing it
// against a shifted copy of itself with a short crossfade (overlap-add). Crude next to WSOLA,
// but a tone keeps its pitch and there is no click.
#pragma once

#include <cstdint>

namespace tincan::media {

// Writes in[0, a) + crossfade(in[a, a+fade), in[b, b+fade)) + in[b+fade, n) to `out` (n − (b − a)
// samples per channel, interleaved). b > a shortens, b < a lengthens. Requires
// a + fade <= n and b + fade <= n.
int spliceAudio(const int16_t* in, int n, int channels, int a, int b, int fade, int16_t* out);

// Halves a block's duration (removes n/2 samples per channel) or makes it half as long again.
inline int shortenByHalf(const int16_t* in, int n, int channels, int16_t* out) {
    return spliceAudio(in, n, channels, n / 4, n / 4 + n / 2, n / 8, out);
}
inline int lengthenByHalf(const int16_t* in, int n, int channels, int16_t* out) {
    return spliceAudio(in, n, channels, n / 4 + n / 2, n / 4, n / 8, out);
}

}  // namespace tincan::media
