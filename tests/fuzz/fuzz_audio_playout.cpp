// The audio receive path: Opus packets with fuzzed RTP sequence numbers, timestamps, arrival
// times and payloads into the playout buffer, pulled in 10 and 20 ms frames.
// Input: records of [seq:2][ts:4][flags:1][len:1][payload:len]; flags bit 0 = pull 20 ms (else
// 10 ms), bits 1-7 = milliseconds to advance the clock.
#include <cstddef>
#include <cstdint>

#include "media/audio/audio_playout_buffer.hpp"

using namespace tincan;
using namespace tincan::media;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    AudioPlayoutBuffer buffer(
        {.channels = int(1 + (size & 1)), .minDelayMs = 20, .maxDelayMs = 200, .maxPackets = 16});
    AudioFrame out;
    Timestamp now{};
    size_t i = 0;
    while (i + 8 <= size) {
        const uint16_t seq = uint16_t(data[i] << 8 | data[i + 1]);
        const uint32_t ts = readU32(data + i + 2);
        const uint8_t flags = data[i + 6];
        const size_t len = data[i + 7];
        i += 8;
        const size_t take = len < size - i ? len : size - i;
        now += std::chrono::milliseconds(flags >> 1);
        buffer.insert(now, {seq, ts, ByteView(data + i, take)});
        i += take;
        buffer.pull(now, out, (flags & 1) ? 960 : 480);
        (void)buffer.currentDelayMs();
    }
    return 0;
}
