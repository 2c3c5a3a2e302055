// libFuzzer target for the RTP codec (core/rtp/rtp_packet.cpp).
//
// Any input: parseRtp returns a view or an Error with a message, never crashes. For a
// view: every extension is walked, the typed readers run, the packet is written again from
// its fields (RtpHeader + payload + padding) and parsed again, which must give the same
// fields, extensions and payload; RTX wrap then unwrap must give back the packet without its
// padding. A broken invariant traps.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/rtp/rtp_packet.hpp"

using namespace tincan;
using namespace tincan::rtp;

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

std::vector<OwnedExtension> extensionsOf(const RtpPacketView& v) {
    std::vector<OwnedExtension> out;
    v.forEachExtension([&](const Extension& e) {
        out.push_back({e.id, Bytes(e.data.begin(), e.data.end())});
    });
    return out;
}

bool sameExtensions(const std::vector<OwnedExtension>& a, const std::vector<OwnedExtension>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (a[i].id != b[i].id || a[i].data != b[i].data) return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    ByteView in(data, size);
    (void)looksLikeRtcp(in);
    auto parsed = parseRtp(in);
    if (!parsed) {
        check(!parsed.error().message.empty());
        return 0;
    }
    const RtpPacketView& v = *parsed;
    check(v.headerSize + v.payload.size() + v.paddingSize == size);
    for (uint8_t id = 0; id < 16; ++id) {
        (void)readTransportSequenceNumber(v, id);
        (void)readAbsSendTime(v, id);
        (void)readMid(v, id);
        (void)readAudioLevel(v, id);
    }
    const auto exts = extensionsOf(v);

    // Rewrite from fields: every parsed packet is expressible (ids 1..14 with 1..16 bytes in a
    // one-byte block, 1..255 with 0..255 bytes in a two-byte block; an unknown profile's
    // block has no elements and is left out), and parses back to the same fields.
    RtpHeader h;
    h.marker = v.marker;
    h.payloadType = v.payloadType;
    h.sequenceNumber = v.sequenceNumber;
    h.timestamp = v.timestamp;
    h.ssrc = v.ssrc;
    for (size_t i = 0; i < v.csrcCount(); ++i) h.csrcs.push_back(v.csrc(i));
    h.extensions = exts;
    if (v.extensionProfile == kOneByteProfile)
        h.extensionFormat = ExtensionFormat::OneByte;
    else if ((v.extensionProfile & kTwoByteProfileMask) == kTwoByteProfile)
        h.extensionFormat = ExtensionFormat::TwoByte;
    Bytes again = serializeRtp(h, v.payload, v.paddingSize);
    check(!again.empty());
    auto p2 = parseRtp(again);
    auto* v2 = p2 ? &*p2 : nullptr;
    check(v2 != nullptr);
    check(v2->marker == v.marker && v2->payloadType == v.payloadType &&
          v2->sequenceNumber == v.sequenceNumber && v2->timestamp == v.timestamp &&
          v2->ssrc == v.ssrc && v2->csrcCount() == v.csrcCount());
    for (size_t i = 0; i < v.csrcCount(); ++i) check(v2->csrc(i) == v.csrc(i));
    check(Bytes(v2->payload.begin(), v2->payload.end()) ==
          Bytes(v.payload.begin(), v.payload.end()));
    check(v2->paddingSize == v.paddingSize);
    check(sameExtensions(extensionsOf(*v2), exts));
    check(serializeRtp(h, v2->payload, v2->paddingSize) == again);

    // RTX round trip.
    Bytes rtx = wrapRtx(v, 0xABCDEF01, 97, uint16_t(v.sequenceNumber + 1));
    auto rp = parseRtp(rtx);
    auto* rv = rp ? &*rp : nullptr;
    check(rv != nullptr);
    auto back = unwrapRtx(*rv, v.ssrc, v.payloadType);
    auto* orig = back ? &*back : nullptr;
    check(orig != nullptr);
    Bytes expected(in.begin(), in.begin() + long(v.headerSize));
    expected[0] &= ~0x20;
    expected.insert(expected.end(), v.payload.begin(), v.payload.end());
    check(*orig == expected);
    return 0;
}
