#include "media/audio/tone.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace tincan::media {

ToneSource::ToneSource(double frequencyHz, double levelDbfs, int channels)
    : frequencyHz_(frequencyHz),
      amplitude_(32767.0 * std::pow(10.0, levelDbfs / 20.0)),
      channels_(std::clamp(channels, 1, AudioFrame::kMaxChannels)) {}

void ToneSource::fill(AudioFrame& out, int samplesPerChannel) {
    out.channels = channels_;
    out.samplesPerChannel = std::clamp(samplesPerChannel, 1, AudioFrame::kMaxSamplesPerChannel);
    out.rtpTimestamp = rtpTimestamp_;
    const double step = 2 * std::numbers::pi * frequencyHz_ / kAudioRateHz;
    for (int i = 0; i < out.samplesPerChannel; ++i) {
        const auto s = int16_t(std::lround(amplitude_ * std::sin(phase_)));
        for (int c = 0; c < channels_; ++c) out.samples[size_t(i * channels_ + c)] = s;
        phase_ += step;
    }
    phase_ = std::fmod(phase_, 2 * std::numbers::pi);
    rtpTimestamp_ += uint32_t(out.samplesPerChannel);
}

double goertzelPower(std::span<const int16_t> samples, int channels, double frequencyHz,
                     int rateHz) {
    const size_t n = samples.size() / size_t(std::max(1, channels));
    if (n == 0) return 0;
    const double coeff = 2 * std::cos(2 * std::numbers::pi * frequencyHz / rateHz);
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; ++i) {
        const double s0 = samples[i * size_t(channels)] / 32768.0 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    const double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    return power / (double(n) * double(n));
}

double rmsDbfs(std::span<const int16_t> samples, int channels) {
    const size_t n = samples.size() / size_t(std::max(1, channels));
    if (n == 0) return -120;
    double sum = 0;
    for (size_t i = 0; i < n; ++i) {
        const double v = samples[i * size_t(channels)] / 32768.0;
        sum += v * v;
    }
    const double rms = std::sqrt(sum / double(n));
    return rms > 1e-6 ? 20 * std::log10(rms) : -120;
}

}  // namespace tincan::media
