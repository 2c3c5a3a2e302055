// RTP packet codec: RFC 3550 §5.1 fields, CSRCs, padding, RFC 8285 extensions in both formats,
// the typed extensions, RTX (RFC 4588 §4) and what the parser rejects.
#include <gtest/gtest.h>

#include "core/rtp/rtp_packet.hpp"

using namespace tincan;
using namespace tincan::rtp;

namespace {

RtpPacketView mustParse(ByteView b) {
    auto r = parseRtp(b);
    if (!r) ADD_FAILURE() << r.error().message;
    return r.value();
}

std::string rejection(ByteView b) {
    auto r = parseRtp(b);
    return r.message();
}

Bytes payloadOf(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

}  // namespace

TEST(RtpPacket, ParsesAHandWrittenPacket) {
    // V=2 P=0 X=0 CC=1, M=1 PT=96, seq 0x1234, ts 0xDEADBEEF, ssrc 0x01020304, csrc 0xAABBCCDD.
    const Bytes wire{0x81, 0xE0, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x01,
                     0x02, 0x03, 0x04, 0xAA, 0xBB, 0xCC, 0xDD, 'h',  'i'};
    auto v = mustParse(wire);
    EXPECT_TRUE(v.marker);
    EXPECT_EQ(v.payloadType, 96);
    EXPECT_EQ(v.sequenceNumber, 0x1234);
    EXPECT_EQ(v.timestamp, 0xDEADBEEFu);
    EXPECT_EQ(v.ssrc, 0x01020304u);
    ASSERT_EQ(v.csrcCount(), 1u);
    EXPECT_EQ(v.csrc(0), 0xAABBCCDDu);
    EXPECT_EQ(v.headerSize, 16u);
    EXPECT_EQ(asString(v.payload), "hi");
    EXPECT_EQ(v.payload.data(), wire.data() + 16);  // a view, not a copy
}

TEST(RtpPacket, RoundTripsEveryField) {
    RtpHeader h;
    h.marker = true;
    h.payloadType = 111;
    h.sequenceNumber = 65535;
    h.timestamp = 48000;
    h.ssrc = 0xCAFEBABE;
    h.csrcs = {1, 2, 3};
    h.setExtension(1, transportSequenceNumberValue(777));
    h.setExtension(3, absSendTimeValue(0x123456));
    h.setExtension(4, asBytes("a1"));
    h.setExtension(5, audioLevelValue({true, 42}));
    const Bytes payload = payloadOf("opus frame");
    Bytes wire = serializeRtp(h, payload, 7);
    ASSERT_FALSE(wire.empty());
    EXPECT_EQ(wire.size(), 12u + 12 + 4 + 12 + 10 + 7);  // 4 elements: 3+4+3+2 bytes
    auto v = mustParse(wire);
    EXPECT_EQ(v.extensionProfile, kOneByteProfile);
    EXPECT_EQ(v.sequenceNumber, 65535);
    EXPECT_EQ(v.csrcCount(), 3u);
    EXPECT_EQ(v.csrc(2), 3u);
    EXPECT_EQ(v.paddingSize, 7);
    EXPECT_EQ(Bytes(v.payload.begin(), v.payload.end()), payload);
    EXPECT_EQ(readTransportSequenceNumber(v, 1), 777);
    EXPECT_EQ(readAbsSendTime(v, 3), 0x123456u);
    EXPECT_EQ(readMid(v, 4), "a1");
    auto level = readAudioLevel(v, 5);
    ASSERT_TRUE(level);
    EXPECT_TRUE(level->voiceActivity);
    EXPECT_EQ(level->levelDbov, 42);
    EXPECT_FALSE(readTransportSequenceNumber(v, 2));  // absent id
    EXPECT_FALSE(readTransportSequenceNumber(v, 0));  // not negotiated
    EXPECT_FALSE(readTransportSequenceNumber(v, 3));  // wrong length for the type
}

TEST(RtpPacket, TwoByteFormatWhenAnElementDoesNotFitOneByte) {
    RtpHeader h;
    h.payloadType = 96;
    const std::string longMid(20, 'm');  // > 16 bytes: RFC 8285 §4.3
    h.setExtension(1, asBytes(longMid));
    h.setExtension(200, transportSequenceNumberValue(9));
    Bytes wire = serializeRtp(h, payloadOf("x"));
    auto v = mustParse(wire);
    EXPECT_EQ(v.extensionProfile, kTwoByteProfile);
    EXPECT_EQ(readMid(v, 1), longMid);
    EXPECT_EQ(readTransportSequenceNumber(v, 200), 9);
    h.extensionFormat = ExtensionFormat::OneByte;
    EXPECT_TRUE(serializeRtp(h, payloadOf("x")).empty());
    h.extensions.clear();
    h.setExtension(0, asBytes("x"));  // id 0 is never valid
    EXPECT_TRUE(serializeRtp(h, payloadOf("x")).empty());
}

TEST(RtpPacket, OneByteBlockWithPaddingAndStopId) {
    // Block: pad, id 2 len 1 (0xAB 0xCD), pad, id 15 (stop), garbage that must be ignored.
    Bytes wire{0x90, 0x60, 0, 1,    0,    0,    0,    1,    0,    0,    0,    2,  0xBE,
               0xDE, 0,    2, 0x00, 0x21, 0xAB, 0xCD, 0x00, 0xF0, 0x37, 0x99, 'p'};
    auto v = mustParse(wire);
    auto e = v.findExtension(2);
    ASSERT_TRUE(e);
    EXPECT_EQ(Bytes(e->begin(), e->end()), (Bytes{0xAB, 0xCD}));
    EXPECT_FALSE(v.findExtension(3));  // after the stop id
    EXPECT_EQ(asString(v.payload), "p");
}

TEST(RtpPacket, OneByteIdZeroIsSkippedAsPadding) {
    // 0x02 is id 0 with a length nibble: not an element (id 0 is reserved), skipped as 1 byte.
    Bytes wire{0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0xBE, 0xDE, 0, 1, 0x02, 0x10, 0x7F, 0};
    auto v = mustParse(wire);
    int elements = 0;
    v.forEachExtension([&](const Extension& e) {
        ++elements;
        EXPECT_EQ(e.id, 1);
    });
    EXPECT_EQ(elements, 1);
    EXPECT_EQ(readAudioLevel(v, 1)->levelDbov, 127);
}

TEST(RtpPacket, UnknownProfileIsCarriedButNotInterpreted) {
    Bytes wire{0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0x12, 0x34, 0, 1, 0x11, 0x22, 0, 0};
    auto v = mustParse(wire);
    EXPECT_EQ(v.extensionProfile, 0x1234);
    EXPECT_EQ(v.extensionBlock.size(), 4u);
    EXPECT_FALSE(v.findExtension(1));
}

TEST(RtpPacket, RejectsMalformedWithAReason) {
    Bytes good = serializeRtp(RtpHeader{}, payloadOf("abcd"));
    EXPECT_EQ(rejection(ByteView(good).first(11)), "shorter than the 12-byte RTP header");
    Bytes v1 = good;
    v1[0] = 0x40;
    EXPECT_EQ(rejection(v1), "RTP version is not 2");
    Bytes cc = good;
    cc[0] = 0x82;  // two CSRCs, only 4 bytes after the header
    EXPECT_EQ(rejection(cc), "CSRC list runs past the packet");
    Bytes pad = good;
    pad[0] |= 0x20;
    pad.back() = 0;
    EXPECT_EQ(rejection(pad), "padding count is 0");
    pad.back() = 5;  // 4 payload bytes only
    EXPECT_EQ(rejection(pad), "padding longer than the payload");
    Bytes ext{0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0xBE, 0xDE, 0, 2, 0x13, 1, 2, 3};
    EXPECT_EQ(rejection(ext), "header extension runs past the packet");
    Bytes elem{0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0xBE, 0xDE, 0, 1, 0x15, 1, 2, 3};
    EXPECT_EQ(rejection(elem), "one-byte header extension runs past its block");
    Bytes two{0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0x10, 0x00, 0, 1, 0x01, 0x05, 2, 3};
    EXPECT_EQ(rejection(two), "two-byte header extension runs past its block");
    Bytes twoShort{0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0x10, 0x00, 0, 1, 0, 0, 0, 0x07};
    EXPECT_EQ(rejection(twoShort), "two-byte header extension cut short");
}

TEST(RtpPacket, PaddingOnlyPacketHasEmptyPayload) {
    RtpHeader h;
    h.payloadType = 96;
    Bytes wire = serializeRtp(h, {}, 200);
    auto v = mustParse(wire);
    EXPECT_TRUE(v.payload.empty());
    EXPECT_EQ(v.paddingSize, 200);
    EXPECT_EQ(wire.size(), 212u);
}

TEST(RtpPacket, WriteExtensionInPlace) {
    RtpHeader h;
    h.setExtension(5, transportSequenceNumberValue(0));
    Bytes wire = serializeRtp(h, payloadOf("data"));
    ASSERT_TRUE(writeExtensionInPlace(wire, 5, transportSequenceNumberValue(4242)));
    EXPECT_EQ(readTransportSequenceNumber(mustParse(wire), 5), 4242);
    EXPECT_FALSE(writeExtensionInPlace(wire, 6, transportSequenceNumberValue(1)));
    EXPECT_FALSE(writeExtensionInPlace(wire, 5, absSendTimeValue(1)));  // length differs
}

TEST(RtpPacket, RtxWrapAndUnwrapRestoreTheOriginal) {
    RtpHeader h;
    h.marker = true;
    h.payloadType = 96;
    h.sequenceNumber = 1000;
    h.timestamp = 90000;
    h.ssrc = 0x11111111;
    h.csrcs = {7};
    h.setExtension(2, asBytes("v"));
    Bytes original = serializeRtp(h, payloadOf("vp8 payload"), 4);
    auto ov = mustParse(original);
    Bytes rtx = wrapRtx(ov, 0x22222222, 97, 5);
    auto rv = mustParse(rtx);
    EXPECT_EQ(rv.ssrc, 0x22222222u);
    EXPECT_EQ(rv.payloadType, 97);
    EXPECT_EQ(rv.sequenceNumber, 5);
    EXPECT_EQ(rv.timestamp, 90000u);
    EXPECT_TRUE(rv.marker);
    EXPECT_EQ(rv.paddingSize, 0);
    EXPECT_EQ(readU16(rv.payload.data()), 1000);  // OSN
    EXPECT_EQ(readMid(rv, 2), "v");

    auto back = unwrapRtx(rv, 0x11111111, 96);
    ASSERT_TRUE(back.ok()) << back.message();
    Bytes withoutPadding = serializeRtp(h, payloadOf("vp8 payload"));
    EXPECT_EQ(*back, withoutPadding);

    RtpHeader e;
    Bytes tooShort = serializeRtp(e, payloadOf("x"));
    auto bad = unwrapRtx(mustParse(tooShort), 1, 96);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().message, "RTX payload shorter than its OSN");
}

TEST(RtpPacket, AbsSendTimeIsSixPointEighteenSeconds) {
    EXPECT_EQ(absSendTimeFromUs(1'000'000), 1u << 18);
    EXPECT_EQ(absSendTimeFromUs(500'000), 1u << 17);
    EXPECT_EQ(absSendTimeFromUs(64'000'000), 0u);  // wraps every 64 s
}

TEST(RtpPacket, SequenceNumberUnwrapping) {
    EXPECT_TRUE(seqNewer(1, 65535));
    EXPECT_FALSE(seqNewer(65535, 1));
    EXPECT_FALSE(seqNewer(7, 7));
    SeqUnwrapper u;
    EXPECT_EQ(u.unwrap(65534), 65534);
    EXPECT_EQ(u.unwrap(65535), 65535);
    EXPECT_EQ(u.unwrap(2), 65538);
    EXPECT_EQ(u.unwrap(65533), 65533);  // late, older
    EXPECT_EQ(u.unwrap(3), 65539);
}

TEST(RtpPacket, RtcpDemuxByPayloadType) {
    EXPECT_TRUE(looksLikeRtcp(Bytes{0x80, 200}));
    EXPECT_TRUE(looksLikeRtcp(Bytes{0x81, 205}));
    EXPECT_FALSE(looksLikeRtcp(Bytes{0x80, 96}));
    EXPECT_FALSE(looksLikeRtcp(Bytes{0x80, 0xE0}));  // marker + PT 96
}
