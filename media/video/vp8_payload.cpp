#include "media/video/vp8_payload.hpp"

namespace tincan::media {

size_t Vp8Descriptor::encodedSize() const {
    size_t n = 1;
    const bool x = pictureId >= 0 || tl0PicIdx >= 0 || temporalId >= 0 || keyIdx >= 0;
    if (!x) return n;
    ++n;
    if (pictureId >= 0) n += pictureId15 ? 2 : 1;
    if (tl0PicIdx >= 0) ++n;
    if (temporalId >= 0 || keyIdx >= 0) ++n;
    return n;
}

size_t Vp8Descriptor::write(uint8_t* out) const {
    const bool x = pictureId >= 0 || tl0PicIdx >= 0 || temporalId >= 0 || keyIdx >= 0;
    size_t n = 0;
    out[n++] = uint8_t((x ? 0x80 : 0) | (nonReference ? 0x20 : 0) | (startOfPartition ? 0x10 : 0) |
                       (partitionIndex & 0x07));
    if (!x) return n;
    const bool tk = temporalId >= 0 || keyIdx >= 0;
    out[n++] = uint8_t((pictureId >= 0 ? 0x80 : 0) | (tl0PicIdx >= 0 ? 0x40 : 0) |
                       (temporalId >= 0 ? 0x20 : 0) | (keyIdx >= 0 ? 0x10 : 0));
    if (pictureId >= 0) {
        if (pictureId15) {
            out[n++] = uint8_t(0x80 | ((pictureId >> 8) & 0x7F));
            out[n++] = uint8_t(pictureId);
        } else {
            out[n++] = uint8_t(pictureId & 0x7F);
        }
    }
    if (tl0PicIdx >= 0) out[n++] = uint8_t(tl0PicIdx);
    if (tk) {
        out[n++] = uint8_t(((temporalId >= 0 ? temporalId : 0) & 0x03) << 6 |
                           (layerSync ? 0x20 : 0) | ((keyIdx >= 0 ? keyIdx : 0) & 0x1F));
    }
    return n;
}

std::optional<Vp8Descriptor> parseVp8Descriptor(ByteView p) {
    Vp8Descriptor d;
    size_t i = 0;
    if (p.size() < 1) return std::nullopt;
    const uint8_t b0 = p[i++];
    d.nonReference = b0 & 0x20;
    d.startOfPartition = b0 & 0x10;
    d.partitionIndex = b0 & 0x07;
    if (b0 & 0x80) {
        if (i >= p.size()) return std::nullopt;
        const uint8_t x = p[i++];
        if (x & 0x80) {
            if (i >= p.size()) return std::nullopt;
            const uint8_t m = p[i++];
            if (m & 0x80) {
                if (i >= p.size()) return std::nullopt;
                d.pictureId = (m & 0x7F) << 8 | p[i++];
                d.pictureId15 = true;
            } else {
                d.pictureId = m & 0x7F;
                d.pictureId15 = false;
            }
        }
        if (x & 0x40) {
            if (i >= p.size()) return std::nullopt;
            d.tl0PicIdx = p[i++];
        }
        if (x & 0x30) {
            if (i >= p.size()) return std::nullopt;
            const uint8_t tk = p[i++];
            if (x & 0x20) {
                d.temporalId = tk >> 6;
                d.layerSync = tk & 0x20;
            }
            if (x & 0x10) d.keyIdx = tk & 0x1F;
        }
    }
    // §4.2: a packet carries at least one byte of VP8 payload.
    if (i >= p.size()) return std::nullopt;
    d.size = i;
    return d;
}

std::optional<Vp8PayloadHeader> parseVp8PayloadHeader(ByteView v) {
    if (v.size() < 3) return std::nullopt;
    Vp8PayloadHeader h;
    h.keyframe = (v[0] & 0x01) == 0;
    if (!h.keyframe) return h;
    // RFC 6386 §9.1: start code 9d 01 2a, then 14-bit width and height (2 bits of scale each).
    if (v.size() < 10 || v[3] != 0x9d || v[4] != 0x01 || v[5] != 0x2a) return std::nullopt;
    h.width = (v[6] | v[7] << 8) & 0x3FFF;
    h.height = (v[8] | v[9] << 8) & 0x3FFF;
    return h;
}

}  // namespace tincan::media
