// RTP packets (RFC 3550 §5.1) with header extensions (RFC 8285), parsed as zero-copy views and
// written from an owned description.
//
// Receive path: parseRtp(bytes) → RtpPacketView (fields + views into `bytes`: CSRCs, extension
// block, payload). Extensions are validated once by the parser and looked up by id on demand
// (findExtension), so a parse allocates nothing.
// Send path: RtpHeader (+ payload) → serializeRtp() → Bytes. Values that are only known at
// send time (transport-wide sequence number) are patched with writeExtensionInPlace().
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/bytes.hpp"
#include "tincan/result.hpp"

namespace tincan::rtp {

inline constexpr size_t kFixedHeaderSize = 12;
inline constexpr uint16_t kOneByteProfile = 0xBEDE;      // RFC 8285 §4.2
inline constexpr uint16_t kTwoByteProfileMask = 0xFFF0;  // RFC 8285 §4.3: 0x100X
inline constexpr uint16_t kTwoByteProfile = 0x1000;

// One header extension element, seen in place.
struct Extension {
    uint8_t id = 0;
    ByteView data;
};

// A parsed RTP packet; every view points into the buffer given to parseRtp().
struct RtpPacketView {
    bool marker = false;
    uint8_t payloadType = 0;  // 7 bits
    uint16_t sequenceNumber = 0;
    uint32_t timestamp = 0;
    uint32_t ssrc = 0;
    ByteView csrcBytes;             // 4 bytes per CSRC
    uint16_t extensionProfile = 0;  // 0 when the X bit is clear
    ByteView extensionBlock;        // the extension data after the 4-byte extension header
    ByteView payload;               // without padding
    uint8_t paddingSize = 0;        // including the count byte itself; 0 if P is clear
    size_t headerSize = 0;          // fixed header + CSRCs + extension block
    ByteView raw;                   // the whole packet

    size_t csrcCount() const { return csrcBytes.size() / 4; }
    uint32_t csrc(size_t i) const { return readU32(csrcBytes.data() + 4 * i); }
    // The first element with this id (RFC 8285 ids 1..14 for one-byte, 1..255 for two-byte).
    // Elements of an unknown extension profile are not visible (RFC 3550 §5.3.1 data only).
    std::optional<ByteView> findExtension(uint8_t id) const;
    // Calls f(Extension) for each element, in order.
    template <typename F>
    void forEachExtension(F&& f) const;
};

// Parses one RTP packet occupying exactly `data` (after SRTP unprotect). Errors: shorter than
// the fixed header, version ≠ 2, CSRCs/extension/padding running past the end, padding count 0,
// a malformed one- or two-byte extension block (element past the block's end, id 15 in a
// one-byte block is accepted only as RFC 8285 §4.2's "stop").
Result<RtpPacketView> parseRtp(ByteView data);

// RFC 7983 §7 / RFC 5761 §4: an RTCP packet in the RTP range shares the first byte pattern;
// the payload-type byte 192..223 (RTCP types 200..207 etc.) marks RTCP.
bool looksLikeRtcp(ByteView data);

enum class ExtensionFormat : uint8_t {
    Auto = 1,     // one-byte when every element fits it (id 1..14, 1..16 bytes), else two-byte
    OneByte = 2,  // fails to serialize if an element does not fit
    TwoByte = 3,  // needs a=extmap-allow-mixed (RFC 8285 §6)
};

struct OwnedExtension {
    uint8_t id = 0;
    Bytes data;
};

// What a sender fills in for one packet.
struct RtpHeader {
    bool marker = false;
    uint8_t payloadType = 0;
    uint16_t sequenceNumber = 0;
    uint32_t timestamp = 0;
    uint32_t ssrc = 0;
    std::vector<uint32_t> csrcs;  // at most 15
    std::vector<OwnedExtension> extensions;
    ExtensionFormat extensionFormat = ExtensionFormat::Auto;

    void setExtension(uint8_t id, ByteView data);  // replaces an element with the same id
};

// Header + payload + `paddingSize` padding bytes (0, or 1..255: the last byte holds the count).
// Empty Bytes if the header cannot be written (over 15 CSRCs, id 0, an element that fits
// neither format or the one demanded, extension block over 65535 words).
Bytes serializeRtp(const RtpHeader& header, ByteView payload, uint8_t paddingSize = 0);

// Rewrites an existing element's value in a serialized packet (same length). False if the
// packet does not parse, has no such element, or its length differs.
bool writeExtensionInPlace(std::span<uint8_t> packet, uint8_t id, ByteView value);

// RFC 4588 §4: the retransmission packet for `original`: same header fields and extensions
// (timestamp, marker, CSRCs), the RTX ssrc/payload type/sequence number, and a payload of the
// original sequence number (OSN) followed by the original payload, without its padding.
Bytes wrapRtx(const RtpPacketView& original, uint32_t rtxSsrc, uint8_t rtxPayloadType,
              uint16_t rtxSequenceNumber);
// The inverse: the original packet (ssrc/pt given by the negotiated RTX association).
// An Error if the RTX payload is shorter than the 2-byte OSN.
Result<Bytes> unwrapRtx(const RtpPacketView& rtx, uint32_t originalSsrc,
                        uint8_t originalPayloadType);

// ---- Typed extensions. Ids come from SDP a=extmap; 0 means "not negotiated". ----

// http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01 §2: 16-bit seq.
std::optional<uint16_t> readTransportSequenceNumber(const RtpPacketView& p, uint8_t id);
Bytes transportSequenceNumberValue(uint16_t seq);

// http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time: 24-bit 6.18 fixed-point seconds.
std::optional<uint32_t> readAbsSendTime(const RtpPacketView& p, uint8_t id);
Bytes absSendTimeValue(uint32_t absSendTime24);
uint32_t absSendTimeFromUs(uint64_t timeUs);  // wraps every 64 s

// urn:ietf:params:rtp-hdrext:sdes:mid (RFC 8843 §15; RFC 7941): the MID as text, 1..255 bytes
// (a two-byte element beyond 16).
std::optional<std::string_view> readMid(const RtpPacketView& p, uint8_t id);

// urn:ietf:params:rtp-hdrext:ssrc-audio-level (RFC 6464 §3): voice activity + level in -dBov.
struct AudioLevel {
    bool voiceActivity = false;
    uint8_t levelDbov = 127;  // 0 (loudest) .. 127 (silence), as -dBov
};
std::optional<AudioLevel> readAudioLevel(const RtpPacketView& p, uint8_t id);
Bytes audioLevelValue(AudioLevel level);

// ---- Sequence number arithmetic ----

// RFC 3550 / RFC 1982 serial comparison for 16-bit sequence numbers: a is newer than b.
inline bool seqNewer(uint16_t a, uint16_t b) {
    return a != b && uint16_t(a - b) < 0x8000;
}

// Maps wrapping 16-bit sequence numbers onto a monotone 64-bit line, relative to the newest
// seen (a value up to 32768 older or 32767 newer than it).
class SeqUnwrapper {
public:
    int64_t unwrap(uint16_t seq);
    // As unwrap() but does not move the reference (for lookups).
    int64_t peek(uint16_t seq) const;

private:
    std::optional<int64_t> last_;
};

template <typename F>
void RtpPacketView::forEachExtension(F&& f) const {
    const uint8_t* p = extensionBlock.data();
    const uint8_t* end = p + extensionBlock.size();
    if (extensionProfile == kOneByteProfile) {
        while (p < end) {
            if ((*p >> 4) == 0) {  // padding (libwebrtc also skips an id-0 header byte)
                ++p;
                continue;
            }
            uint8_t id = *p >> 4;
            if (id == 15) return;  // RFC 8285 §4.2: stop processing
            size_t len = (*p & 0x0F) + 1u;
            f(Extension{id, ByteView(p + 1, len)});
            p += 1 + len;
        }
    } else if ((extensionProfile & kTwoByteProfileMask) == kTwoByteProfile) {
        while (p < end) {
            if (*p == 0) {
                ++p;
                continue;
            }
            uint8_t id = p[0];
            size_t len = p[1];
            f(Extension{id, ByteView(p + 2, len)});
            p += 2 + len;
        }
    }
}

}  // namespace tincan::rtp
