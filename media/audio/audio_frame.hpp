// Raw audio between sources, codecs, the playout buffer and sinks: 48 kHz, 16-bit, mono or
// stereo interleaved, 10 or 20 ms. Fixed storage, so frames move through queues and rings
// without touching the heap.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace tincan::media {

constexpr int kAudioRateHz = 48000;
constexpr int kSamplesPer10Ms = kAudioRateHz / 100;

struct AudioFrame {
    static constexpr int kMaxChannels = 2;
    static constexpr int kMaxSamplesPerChannel = 2 * kSamplesPer10Ms;  // 20 ms

    int channels = 1;
    int samplesPerChannel = 2 * kSamplesPer10Ms;
    uint32_t rtpTimestamp = 0;  // 48 kHz
    std::array<int16_t, kMaxChannels * kMaxSamplesPerChannel> samples{};

    int durationMs() const { return samplesPerChannel * 1000 / kAudioRateHz; }
    std::span<int16_t> data() { return {samples.data(), size_t(channels * samplesPerChannel)}; }
    std::span<const int16_t> data() const {
        return {samples.data(), size_t(channels * samplesPerChannel)};
    }
};

}  // namespace tincan::media
