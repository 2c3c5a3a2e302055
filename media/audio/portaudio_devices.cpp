#include "media/audio/portaudio_devices.hpp"

#include <fmt/format.h>
#include <portaudio.h>

#include <algorithm>
#include <cstring>

namespace tincan::media {

PortAudioStream::PortAudioStream(std::shared_ptr<PortAudioSystem> system)
    : system_(std::move(system)) {}

PortAudioStream::~PortAudioStream() = default;  // subclasses stop() while their onAudio exists

int PortAudioStream::callback(const void* in, void* out, unsigned long frames,
                              const PaStreamCallbackTimeInfo*, unsigned long, void* self) {
    auto* s = static_cast<PortAudioStream*>(self);
    s->callbacks_.fetch_add(1, std::memory_order_relaxed);
    s->onAudio(static_cast<const int16_t*>(in), static_cast<int16_t*>(out), size_t(frames));
    return paContinue;
}

bool PortAudioStream::open(const AudioStreamConfig& config, bool input, std::string& error) {
    stop();
    if (!system_) {
        error = "audio unavailable";
        return false;
    }
    const int device = system_->pickDevice(config.device, input, error);
    if (device < 0) return false;
    const PaDeviceInfo* info = Pa_GetDeviceInfo(device);
    channels_ = std::clamp(config.channels, 1, 2);
    const int bufferMs = config.bufferMs >= 20 ? 20 : 10;
    ring_ = std::make_unique<SpscRing<int16_t>>(size_t(std::max(config.ringMs, 4 * bufferMs)) *
                                                (kAudioRateHz / 1000) * size_t(channels_));
    PaStreamParameters p{};
    p.device = device;
    p.channelCount = channels_;
    p.sampleFormat = paInt16;
    p.suggestedLatency = input ? info->defaultLowInputLatency : info->defaultLowOutputLatency;
    PaStream* stream = nullptr;
    const PaError err = withStderrSilenced([&] {
        PaError e = Pa_OpenStream(&stream, input ? &p : nullptr, input ? nullptr : &p, kAudioRateHz,
                                  unsigned(bufferMs * kAudioRateHz / 1000), paClipOff,
                                  &PortAudioStream::callback, this);
        if (e == paNoError) {
            e = Pa_StartStream(stream);
            if (e != paNoError) Pa_CloseStream(stream);
        }
        return e;
    });
    if (err != paNoError) {
        error = fmt::format("cannot open {} '{}': {}", input ? "microphone" : "speaker", info->name,
                            Pa_GetErrorText(err));
        return false;
    }
    stream_ = stream;
    return true;
}

void PortAudioStream::stop() {
    if (!stream_) return;
    withStderrSilenced([&] {
        Pa_StopStream(stream_);
        return Pa_CloseStream(stream_);
    });
    stream_ = nullptr;
}

void PortAudioMicrophone::onAudio(const int16_t* in, int16_t*, size_t frames) {
    if (!in) return;
    const size_t n = frames * size_t(channels_);
    const size_t written = ring_->write(in, n);
    if (written < n)
        overflow_.fetch_add((n - written) / size_t(channels_), std::memory_order_relaxed);
}

bool PortAudioMicrophone::read(AudioFrame& out, int samplesPerChannel) {
    if (!ring_) return false;
    samplesPerChannel = std::clamp(samplesPerChannel, 1, AudioFrame::kMaxSamplesPerChannel);
    const size_t n = size_t(samplesPerChannel * channels_);
    if (ring_->available() < n) return false;
    ring_->read(out.samples.data(), n);
    out.channels = channels_;
    out.samplesPerChannel = samplesPerChannel;
    return true;
}

void PortAudioSpeaker::onAudio(const int16_t*, int16_t* out, size_t frames) {
    if (!out) return;
    const size_t n = frames * size_t(channels_);
    const size_t got = ring_->read(out, n);
    if (got < n) {
        std::memset(out + got, 0, (n - got) * sizeof(int16_t));
        underflow_.fetch_add((n - got) / size_t(channels_), std::memory_order_relaxed);
    }
}

bool PortAudioSpeaker::write(const AudioFrame& frame) {
    if (!ring_ || frame.channels != channels_) {
        dropped_ += uint64_t(frame.samplesPerChannel);
        return false;
    }
    const auto data = frame.data();
    const size_t written = ring_->write(data.data(), data.size());
    dropped_ += (data.size() - written) / size_t(channels_);
    return written == data.size();
}

}  // namespace tincan::media
