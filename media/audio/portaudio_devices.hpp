// The microphone and the speaker on PortAudio, at 48 kHz, 16-bit, with 10 or 20 ms buffers.
// PortAudio calls back on its own thread; the samples cross to and from the codec side through
// a lock-free SPSC ring, so neither side ever waits on the other.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "media/audio/audio_frame.hpp"
#include "media/audio/audio_sink.hpp"
#include "media/audio/portaudio_system.hpp"
#include "media/audio/spsc_ring.hpp"

struct PaStreamCallbackTimeInfo;

namespace tincan::media {

struct AudioStreamConfig {
    int device = -1;  // −1: the system default
    int channels = 1;
    int bufferMs = 10;  // PortAudio callback size: 10 or 20
    int ringMs = 200;   // hand-off capacity
};

// Shared by both directions: the stream and its ring.
class PortAudioStream {
public:
    explicit PortAudioStream(std::shared_ptr<PortAudioSystem> system);
    virtual ~PortAudioStream();
    PortAudioStream(const PortAudioStream&) = delete;
    PortAudioStream& operator=(const PortAudioStream&) = delete;

    void stop();
    bool running() const { return stream_ != nullptr; }
    uint64_t callbacks() const { return callbacks_.load(std::memory_order_relaxed); }
    size_t bufferedSamples() const { return ring_ ? ring_->available() / size_t(channels_) : 0; }

protected:
    bool open(const AudioStreamConfig& config, bool input, std::string& error);

    std::shared_ptr<PortAudioSystem> system_;
    void* stream_ = nullptr;
    std::unique_ptr<SpscRing<int16_t>> ring_;
    int channels_ = 1;
    std::atomic<uint64_t> callbacks_{0};

private:
    static int callback(const void* in, void* out, unsigned long frames,
                        const PaStreamCallbackTimeInfo* timeInfo, unsigned long statusFlags,
                        void* self);
    virtual void onAudio(const int16_t* in, int16_t* out, size_t frames) = 0;
};

class PortAudioMicrophone : public PortAudioStream {
public:
    using PortAudioStream::PortAudioStream;
    ~PortAudioMicrophone() override { stop(); }

    bool start(const AudioStreamConfig& config, std::string& error) {
        return open(config, true, error);
    }
    // Codec side: takes samplesPerChannel samples if that many are buffered.
    bool read(AudioFrame& out, int samplesPerChannel);
    uint64_t overflowSamples() const { return overflow_.load(std::memory_order_relaxed); }

private:
    void onAudio(const int16_t* in, int16_t* out, size_t frames) override;
    std::atomic<uint64_t> overflow_{0};  // the codec side fell behind: samples dropped
};

class PortAudioSpeaker : public PortAudioStream, public AudioSink {
public:
    using PortAudioStream::PortAudioStream;
    ~PortAudioSpeaker() override { stop(); }

    bool start(const AudioStreamConfig& config, std::string& error) {
        return open(config, false, error);
    }
    // Codec side: queues a frame for playback; false (and counted) when the ring is full.
    bool write(const AudioFrame& frame) override;
    uint64_t underflowSamples() const { return underflow_.load(std::memory_order_relaxed); }
    uint64_t droppedSamples() const { return dropped_; }

private:
    void onAudio(const int16_t* in, int16_t* out, size_t frames) override;
    std::atomic<uint64_t> underflow_{0};  // the device wanted audio we did not have: silence
    uint64_t dropped_ = 0;
};

// Starts PortAudio and one device of type D (PortAudioMicrophone or PortAudioSpeaker) with
// 20 ms callbacks: the device, with `system` holding PortAudio, or nullptr, `error` saying why.
template <typename D>
std::unique_ptr<D> openAudioDevice(std::shared_ptr<PortAudioSystem>& system, int device,
                                   int channels, std::string& error) {
    system = PortAudioSystem::create(error);
    if (!system) return nullptr;
    auto d = std::make_unique<D>(system);
    AudioStreamConfig config;
    config.device = device;
    config.channels = channels;
    config.bufferMs = 20;
    if (!d->start(config, error)) {
        system.reset();
        return nullptr;
    }
    return d;
}

}  // namespace tincan::media
