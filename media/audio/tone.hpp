// A tone source a receiver can measure, and the measuring side: a sine of known frequency and
// level, and a Goertzel filter that finds how much of a signal sits at a given frequency.
#pragma once

#include <cstdint>
#include <span>

#include "media/audio/audio_frame.hpp"

namespace tincan::media {

class ToneSource {
public:
    // levelDbfs: the sine's peak relative to full scale (−6 → half scale). Phase runs on across
    // frames, so consecutive frames join without clicks.
    ToneSource(double frequencyHz, double levelDbfs = -6.0, int channels = 1);

    // Fills `out` with samplesPerChannel samples (480 or 960) and advances rtpTimestamp.
    void fill(AudioFrame& out, int samplesPerChannel = 2 * kSamplesPer10Ms);

    double frequencyHz() const { return frequencyHz_; }

private:
    double frequencyHz_;
    double amplitude_;
    int channels_;
    double phase_ = 0;
    uint32_t rtpTimestamp_ = 0;
};

// Power of one frequency in `samples` (interleaved; channel 0 is measured) by the Goertzel
// algorithm, normalised so a full-scale sine at that frequency gives about 0.25.
double goertzelPower(std::span<const int16_t> samples, int channels, double frequencyHz,
                     int rateHz = kAudioRateHz);

// RMS level of channel 0 in dBFS (a full-scale sine is −3 dBFS); −120 for silence.
double rmsDbfs(std::span<const int16_t> samples, int channels);

}  // namespace tincan::media
