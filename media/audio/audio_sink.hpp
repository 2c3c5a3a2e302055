// Where decoded audio goes: the speaker, nowhere (a null sink for machines without sound), or a
// WAV file (`--record`). Called from the thread that pulls the playout buffer.
#pragma once

#include <cstdint>
#include <string>

#include "media/audio/audio_frame.hpp"
#include "media/audio/wav.hpp"

namespace tincan::media {

class AudioSink {
public:
    virtual ~AudioSink() = default;
    // False when the frame could not be taken (counted by the sink).
    virtual bool write(const AudioFrame& frame) = 0;
};

class NullAudioSink : public AudioSink {
public:
    bool write(const AudioFrame& frame) override {
        samples_ += uint64_t(frame.samplesPerChannel);
        return true;
    }
    uint64_t samplesWritten() const { return samples_; }

private:
    uint64_t samples_ = 0;
};

class WavAudioSink : public AudioSink {
public:
    bool open(const std::string& path, int channels) {
        return wav_.open(path, kAudioRateHz, channels);
    }
    bool write(const AudioFrame& frame) override { return wav_.write(frame.data()); }
    void close() { wav_.close(); }
    const std::string& error() const { return wav_.error(); }
    uint64_t samplesWritten() const { return wav_.framesWritten(); }

private:
    WavWriter wav_;
};

}  // namespace tincan::media
