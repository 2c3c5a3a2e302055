// The VP8 receive path before the decoder: RFC 7741 descriptors, frame assembly and the frame
// buffer, fed packets whose headers, order, gaps and timing all come from the fuzzer.
// Input: records of [seq:2][ts step:1][flags:1][len:1][payload:len]; flags bit 0 = marker,
// bits 1-7 = milliseconds to advance the clock.
#include <cstddef>
#include <cstdint>

#include "media/video/video_frame_buffer.hpp"
#include "media/video/vp8_frame_assembler.hpp"

using namespace tincan;
using namespace tincan::media;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Vp8FrameAssembler assembler({.nackWait = 50ms, .maxPacketAge = 200ms, .slots = 128});
    VideoFrameBuffer buffer(
        {.nackWait = 50ms, .reorderWait = 10ms, .keyframeRetry = 100ms, .maxFrames = 8});
    Timestamp now{};
    uint32_t ts = 0;
    size_t i = 0;
    while (i + 5 <= size) {
        const uint16_t seq = uint16_t(data[i] << 8 | data[i + 1]);
        ts += uint32_t(data[i + 2]) * 1000;
        const bool marker = data[i + 3] & 1;
        now += std::chrono::milliseconds(data[i + 3] >> 1);
        const size_t len = data[i + 4];
        i += 5;
        const size_t take = len < size - i ? len : size - i;
        assembler.insert(now, {seq, ts, marker, ByteView(data + i, take)});
        i += take;
        assembler.handleTimeout(now);
        (void)assembler.missing();
        (void)assembler.takeKeyframeNeeded();
        (void)assembler.pollTimeout();
        while (auto f = assembler.pollFrame()) buffer.insert(now, std::move(*f));
        while (auto f = buffer.pollDecodable(now)) assembler.recycle(std::move(*f));
        (void)buffer.takeKeyframeRequest();
        (void)buffer.pollTimeout();
    }
    return 0;
}
