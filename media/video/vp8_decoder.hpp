// VP8 decoder (libvpx). Reports corrupt or incomplete frames instead of showing them, and after
// one refuses delta frames until a keyframe arrives (the caller then asks the sender for one).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/common/bytes.hpp"
#include "media/video/i420_frame.hpp"

namespace tincan::media {

enum class DecodeStatus : uint8_t {
    Ok = 1,            // `out` holds the picture
    NeedKeyframe = 2,  // a delta frame with no valid reference: dropped, ask for a keyframe
    Corrupt = 3,       // libvpx decoded it but flagged damage (or refused it): dropped
    Invalid = 4,       // not a VP8 frame at all (empty, bad header): dropped
};

struct Vp8DecoderStats {
    uint64_t framesDecoded = 0;
    uint64_t keyframesDecoded = 0;
    uint64_t framesCorrupt = 0;
    uint64_t framesInvalid = 0;
    uint64_t framesWithoutReference = 0;
};

class Vp8Decoder {
public:
    Vp8Decoder();
    ~Vp8Decoder();
    Vp8Decoder(const Vp8Decoder&) = delete;
    Vp8Decoder& operator=(const Vp8Decoder&) = delete;

    bool init(int threads = 1);

    // Decodes one whole frame. On Ok, `out` points into the decoder's own buffer and stays valid
    // until the next decode(); its timing fields are left for the caller to fill.
    DecodeStatus decode(ByteView frame, I420View& out);

    bool needsKeyframe() const { return needKeyframe_; }
    const Vp8DecoderStats& stats() const { return stats_; }
    const std::string& error() const { return error_; }

    // RFC 6386 §9.1: bit 0 of the first byte is 0 for keyframes, whose start code is 9d 01 2a.
    static bool isKeyframe(ByteView frame);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    Vp8DecoderStats stats_;
    std::string error_;
    bool needKeyframe_ = true;
};

}  // namespace tincan::media
