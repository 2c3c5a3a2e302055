#include "core/rtp/rtp_packet.hpp"

#include <algorithm>
#include <cstring>

namespace tincan::rtp {
namespace {

Error fail(const char* reason) {
    return Error{reason};
}

// RFC 8285 §4.2/§4.3: every element lies inside the block; returns a reason or nullptr.
const char* validateExtensions(uint16_t profile, ByteView block) {
    const uint8_t* p = block.data();
    const uint8_t* end = p + block.size();
    if (profile == kOneByteProfile) {
        while (p < end) {
            if ((*p >> 4) == 0) {  // padding; an id-0 header is skipped as one byte too
                ++p;
                continue;
            }
            if ((*p >> 4) == 15) return nullptr;
            size_t len = (*p & 0x0F) + 1u;
            if (size_t(end - p) < 1 + len) return "one-byte header extension runs past its block";
            p += 1 + len;
        }
    } else if ((profile & kTwoByteProfileMask) == kTwoByteProfile) {
        while (p < end) {
            if (*p == 0) {
                ++p;
                continue;
            }
            if (end - p < 2) return "two-byte header extension cut short";
            size_t len = p[1];
            if (size_t(end - p) < 2 + len) return "two-byte header extension runs past its block";
            p += 2 + len;
        }
    }
    return nullptr;
}

}  // namespace

std::optional<ByteView> RtpPacketView::findExtension(uint8_t id) const {
    std::optional<ByteView> found;
    if (id == 0) return found;
    forEachExtension([&](const Extension& e) {
        if (!found && e.id == id) found = e.data;
    });
    return found;
}

// RFC 3550 §5.1 fixed header, §5.3.1 extension, padding as in §5.1 "P".
Result<RtpPacketView> parseRtp(ByteView data) {
    if (data.size() < kFixedHeaderSize) return fail("shorter than the 12-byte RTP header");
    const uint8_t* d = data.data();
    if ((d[0] >> 6) != 2) return fail("RTP version is not 2");
    RtpPacketView v;
    v.raw = data;
    const bool padding = d[0] & 0x20;
    const bool extension = d[0] & 0x10;
    const size_t cc = d[0] & 0x0F;
    v.marker = d[1] & 0x80;
    v.payloadType = d[1] & 0x7F;
    v.sequenceNumber = readU16(d + 2);
    v.timestamp = readU32(d + 4);
    v.ssrc = readU32(d + 8);
    size_t pos = kFixedHeaderSize;
    if (data.size() < pos + 4 * cc) return fail("CSRC list runs past the packet");
    v.csrcBytes = data.subspan(pos, 4 * cc);
    pos += 4 * cc;
    if (extension) {
        if (data.size() < pos + 4) return fail("header extension header runs past the packet");
        v.extensionProfile = readU16(d + pos);
        size_t words = readU16(d + pos + 2);
        pos += 4;
        if (data.size() < pos + 4 * words) return fail("header extension runs past the packet");
        v.extensionBlock = data.subspan(pos, 4 * words);
        pos += 4 * words;
        if (const char* why = validateExtensions(v.extensionProfile, v.extensionBlock))
            return fail(why);
    }
    v.headerSize = pos;
    size_t end = data.size();
    if (padding) {
        uint8_t count = d[end - 1];
        if (count == 0) return fail("padding count is 0");
        if (end - pos < count) return fail("padding longer than the payload");
        v.paddingSize = count;
        end -= count;
    }
    v.payload = data.subspan(pos, end - pos);
    return v;
}

bool looksLikeRtcp(ByteView data) {
    return data.size() >= 2 && (data[0] >> 6) == 2 && data[1] >= 192 && data[1] <= 223;
}

void RtpHeader::setExtension(uint8_t id, ByteView data) {
    for (auto& e : extensions) {
        if (e.id == id) {
            e.data.assign(data.begin(), data.end());
            return;
        }
    }
    extensions.push_back({id, Bytes(data.begin(), data.end())});
}

Bytes serializeRtp(const RtpHeader& h, ByteView payload, uint8_t paddingSize) {
    if (h.csrcs.size() > 15 || h.payloadType > 127) return {};
    bool oneByte = true;
    for (const auto& e : h.extensions) {
        if (e.id == 0) return {};
        if (e.id > 14 || e.data.empty() || e.data.size() > 16) oneByte = false;
        if (e.data.size() > 255) return {};
    }
    if (h.extensionFormat == ExtensionFormat::OneByte && !oneByte) return {};
    if (h.extensionFormat == ExtensionFormat::TwoByte) oneByte = false;

    size_t blockSize = 0;
    for (const auto& e : h.extensions) blockSize += (oneByte ? 1 : 2) + e.data.size();
    blockSize = (blockSize + 3) & ~size_t(3);  // RFC 8285 §4.1: zero padding to a word
    if (blockSize / 4 > 0xFFFF) return {};
    const bool hasExt = !h.extensions.empty();

    // One allocation, written front to back (this runs once per packet sent).
    Bytes out(kFixedHeaderSize + 4 * h.csrcs.size() + (hasExt ? 4 + blockSize : 0) +
              payload.size() + paddingSize);
    uint8_t* p = out.data();
    p[0] = uint8_t(0x80 | (paddingSize ? 0x20 : 0) | (hasExt ? 0x10 : 0) | h.csrcs.size());
    p[1] = uint8_t((h.marker ? 0x80 : 0) | h.payloadType);
    writeU16(p + 2, h.sequenceNumber);
    writeU32(p + 4, h.timestamp);
    writeU32(p + 8, h.ssrc);
    p += kFixedHeaderSize;
    for (uint32_t c : h.csrcs) {
        writeU32(p, c);
        p += 4;
    }
    if (hasExt) {
        writeU16(p, oneByte ? kOneByteProfile : kTwoByteProfile);
        writeU16(p + 2, uint16_t(blockSize / 4));
        uint8_t* block = p + 4;
        for (const auto& e : h.extensions) {
            if (oneByte) {
                *block++ = uint8_t(e.id << 4 | (e.data.size() - 1));
            } else {
                *block++ = e.id;
                *block++ = uint8_t(e.data.size());
            }
            if (!e.data.empty()) std::memcpy(block, e.data.data(), e.data.size());
            block += e.data.size();
        }
        p += 4 + blockSize;  // the padding bytes are already zero
    }
    if (!payload.empty()) std::memcpy(p, payload.data(), payload.size());
    if (paddingSize) out.back() = paddingSize;  // the other padding bytes are zero
    return out;
}

bool writeExtensionInPlace(std::span<uint8_t> packet, uint8_t id, ByteView value) {
    auto parsed = parseRtp(packet);
    if (!parsed) return false;
    const RtpPacketView* v = &*parsed;
    auto found = v->findExtension(id);
    if (!found || found->size() != value.size()) return false;
    // The view is const; locate it in the mutable packet by offset.
    size_t offset = size_t(found->data() - packet.data());
    std::memcpy(packet.data() + offset, value.data(), value.size());
    return true;
}

Bytes wrapRtx(const RtpPacketView& original, uint32_t rtxSsrc, uint8_t rtxPayloadType,
              uint16_t rtxSequenceNumber) {
    Bytes out;
    out.reserve(original.headerSize + 2 + original.payload.size());
    out.insert(out.end(), original.raw.begin(), original.raw.begin() + original.headerSize);
    out[0] &= ~0x20;  // the original's padding is not carried
    out[1] = uint8_t((out[1] & 0x80) | (rtxPayloadType & 0x7F));
    writeU16(out.data() + 2, rtxSequenceNumber);
    writeU32(out.data() + 8, rtxSsrc);
    appendU16(out, original.sequenceNumber);  // RFC 4588 §4: OSN
    appendBytes(out, original.payload);
    return out;
}

Result<Bytes> unwrapRtx(const RtpPacketView& rtx, uint32_t originalSsrc,
                        uint8_t originalPayloadType) {
    if (rtx.payload.size() < 2) return fail("RTX payload shorter than its OSN");
    Bytes out;
    out.reserve(rtx.headerSize + rtx.payload.size() - 2);
    out.insert(out.end(), rtx.raw.begin(), rtx.raw.begin() + rtx.headerSize);
    out[0] &= ~0x20;
    out[1] = uint8_t((out[1] & 0x80) | (originalPayloadType & 0x7F));
    writeU16(out.data() + 2, readU16(rtx.payload.data()));
    writeU32(out.data() + 8, originalSsrc);
    out.insert(out.end(), rtx.payload.begin() + 2, rtx.payload.end());
    return out;
}

std::optional<uint16_t> readTransportSequenceNumber(const RtpPacketView& p, uint8_t id) {
    auto e = p.findExtension(id);
    if (!e || e->size() != 2) return std::nullopt;
    return readU16(e->data());
}

Bytes transportSequenceNumberValue(uint16_t seq) {
    Bytes b(2);
    writeU16(b.data(), seq);
    return b;
}

std::optional<uint32_t> readAbsSendTime(const RtpPacketView& p, uint8_t id) {
    auto e = p.findExtension(id);
    if (!e || e->size() != 3) return std::nullopt;
    const uint8_t* d = e->data();
    return uint32_t(d[0]) << 16 | uint32_t(d[1]) << 8 | d[2];
}

Bytes absSendTimeValue(uint32_t t) {
    return Bytes{uint8_t(t >> 16), uint8_t(t >> 8), uint8_t(t)};
}

uint32_t absSendTimeFromUs(uint64_t timeUs) {
    // 6.18 fixed point: seconds << 18, rounded; 24 bits keep 64 s.
    return uint32_t(((timeUs << 18) + 500000) / 1000000) & 0xFFFFFF;
}

std::optional<std::string_view> readMid(const RtpPacketView& p, uint8_t id) {
    auto e = p.findExtension(id);
    if (!e || e->empty()) return std::nullopt;
    return asString(*e);
}

std::optional<AudioLevel> readAudioLevel(const RtpPacketView& p, uint8_t id) {
    auto e = p.findExtension(id);
    if (!e || e->empty()) return std::nullopt;  // RFC 6464 §3: 1 byte (padding may follow)
    return AudioLevel{bool((*e)[0] & 0x80), uint8_t((*e)[0] & 0x7F)};
}

Bytes audioLevelValue(AudioLevel level) {
    return Bytes{uint8_t((level.voiceActivity ? 0x80 : 0) | (level.levelDbov & 0x7F))};
}

int64_t SeqUnwrapper::peek(uint16_t seq) const {
    if (!last_) return seq;
    uint16_t lastLow = uint16_t(*last_);
    int64_t diff = int16_t(uint16_t(seq - lastLow));
    return *last_ + diff;
}

int64_t SeqUnwrapper::unwrap(uint16_t seq) {
    int64_t v = peek(seq);
    if (!last_ || v > *last_) last_ = v;
    return v;
}

}  // namespace tincan::rtp
