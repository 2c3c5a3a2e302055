// 16-bit PCM WAV files: what `--record` writes of received audio, and what tests read back.
// The header's sizes are patched on close(), so a file cut short by a crash still holds its
// samples (readers that trust the data size will stop early).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "media/common/file_ptr.hpp"

namespace tincan::media {

class WavWriter {
public:
    ~WavWriter() { close(); }
    bool open(const std::string& path, int rateHz, int channels);
    bool write(std::span<const int16_t> interleaved);
    void close();

    const std::string& error() const { return error_; }
    uint64_t framesWritten() const { return frames_; }

private:
    FilePtr file_;
    int rate_ = 48000;
    int channels_ = 1;
    uint64_t frames_ = 0;
    std::string error_;
};

struct WavData {
    int rateHz = 0;
    int channels = 0;
    std::vector<int16_t> samples;  // interleaved
};

// Reads a 16-bit PCM WAV; false with `error` set otherwise.
bool readWav(const std::string& path, WavData& out, std::string& error);

}  // namespace tincan::media
