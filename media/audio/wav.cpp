#include "media/audio/wav.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace tincan::media {
namespace {

void putU16(uint8_t* p, uint16_t v) {
    p[0] = uint8_t(v);
    p[1] = uint8_t(v >> 8);
}
void putU32(uint8_t* p, uint32_t v) {
    putU16(p, uint16_t(v));
    putU16(p + 2, uint16_t(v >> 16));
}
uint16_t getU16(const uint8_t* p) {
    return uint16_t(p[0] | p[1] << 8);
}
uint32_t getU32(const uint8_t* p) {
    return uint32_t(getU16(p)) | uint32_t(getU16(p + 2)) << 16;
}

// The canonical 44-byte header: RIFF, fmt (PCM), data.
void makeHeader(uint8_t* h, int rate, int channels, uint32_t dataBytes) {
    std::memcpy(h, "RIFF", 4);
    putU32(h + 4, 36 + dataBytes);
    std::memcpy(h + 8, "WAVEfmt ", 8);
    putU32(h + 16, 16);
    putU16(h + 20, 1);
    putU16(h + 22, uint16_t(channels));
    putU32(h + 24, uint32_t(rate));
    putU32(h + 28, uint32_t(rate * channels * 2));
    putU16(h + 32, uint16_t(channels * 2));
    putU16(h + 34, 16);
    std::memcpy(h + 36, "data", 4);
    putU32(h + 40, dataBytes);
}

}  // namespace

bool WavWriter::open(const std::string& path, int rateHz, int channels) {
    file_.reset(std::fopen(path.c_str(), "wb"));
    if (!file_) {
        error_ = fmt::format("cannot write {}: {}", path, std::strerror(errno));
        return false;
    }
    channels_ = channels;
    frames_ = 0;
    uint8_t h[44];
    makeHeader(h, rateHz, channels, 0);
    std::fwrite(h, 1, sizeof h, file_.get());
    rate_ = rateHz;
    return true;
}

bool WavWriter::write(std::span<const int16_t> s) {
    if (!file_) return false;
    // WAV is little-endian, as is every machine this builds for.
    if (std::fwrite(s.data(), 2, s.size(), file_.get()) != s.size()) {
        error_ = fmt::format("write failed: {}", std::strerror(errno));
        return false;
    }
    frames_ += s.size() / size_t(channels_);
    return true;
}

void WavWriter::close() {
    if (!file_) return;
    uint8_t h[44];
    makeHeader(h, rate_, channels_, uint32_t(frames_ * uint64_t(channels_) * 2));
    std::fseek(file_.get(), 0, SEEK_SET);
    std::fwrite(h, 1, sizeof h, file_.get());
    file_.reset();
}

bool readWav(const std::string& path, WavData& out, std::string& error) {
    FilePtr f(std::fopen(path.c_str(), "rb"));
    if (!f) {
        error = fmt::format("cannot read {}: {}", path, std::strerror(errno));
        return false;
    }
    uint8_t h[12];
    if (std::fread(h, 1, 12, f.get()) != 12 || std::memcmp(h, "RIFF", 4) ||
        std::memcmp(h + 8, "WAVE", 4)) {
        error = "not a RIFF/WAVE file";
        return false;
    }
    bool haveFmt = false;
    uint8_t chunk[8];
    while (std::fread(chunk, 1, 8, f.get()) == 8) {
        const uint32_t size = getU32(chunk + 4);
        if (!std::memcmp(chunk, "fmt ", 4)) {
            uint8_t fmtChunk[16];
            if (size < 16 || std::fread(fmtChunk, 1, 16, f.get()) != 16) break;
            if (getU16(fmtChunk) != 1 || getU16(fmtChunk + 14) != 16) {
                error = "not 16-bit PCM";
                return false;
            }
            out.channels = getU16(fmtChunk + 2);
            out.rateHz = int(getU32(fmtChunk + 4));
            haveFmt = true;
            std::fseek(f.get(), long(size - 16), SEEK_CUR);
        } else if (!std::memcmp(chunk, "data", 4)) {
            if (!haveFmt || out.channels < 1) break;
            out.samples.resize(size / 2);
            out.samples.resize(std::fread(out.samples.data(), 2, out.samples.size(), f.get()));
            return true;
        } else {
            std::fseek(f.get(), long(size + (size & 1)), SEEK_CUR);
        }
    }
    error = "no fmt or data chunk";
    return false;
}

}  // namespace tincan::media
