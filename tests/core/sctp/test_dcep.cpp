// DCEP codec (RFC 8832 §5) and the SCTP checksum helper: pure functions, no usrsctp.
#include <gtest/gtest.h>

#include "core/sctp/dcep.hpp"
#include "core/sctp/usrsctp_glue.hpp"

using namespace tincan;
using namespace tincan::sctp;

TEST(Dcep, OpenEncodesTheRfcLayout) {
    dcep::Open open;
    open.label = "chat";
    open.protocol = "x";
    const Bytes wire = dcep::encodeOpen(open);
    // type, channel type, priority 256, reliability 0, label length 4, protocol length 1.
    const Bytes expected = {0x03, 0x00, 0x01, 0x00, 0,   0,   0,   0,  0x00,
                            0x04, 0x00, 0x01, 'c',  'h', 'a', 't', 'x'};
    EXPECT_EQ(wire, expected);
    EXPECT_EQ(dcep::encodeAck(), Bytes{0x02});
    EXPECT_TRUE(dcep::isAck(dcep::encodeAck()));
    EXPECT_FALSE(dcep::isAck(Bytes{}));
}

TEST(Dcep, EveryChannelTypeRoundTrips) {
    for (bool ordered : {true, false}) {
        for (auto reliability :
             {dcep::Reliability::Reliable, dcep::Reliability::Rexmit, dcep::Reliability::Timed}) {
            dcep::Open open;
            open.ordered = ordered;
            open.reliability = reliability;
            open.reliabilityParameter = reliability == dcep::Reliability::Reliable ? 0 : 70000;
            open.priority = dcep::kPriorityHigh;
            open.label = "label \xE2\x9C\x93";
            open.protocol = "proto";
            const Bytes wire = dcep::encodeOpen(open);
            const uint8_t type = wire[1];
            EXPECT_EQ((type & 0x80) == 0, ordered);
            auto parsed = dcep::parseOpen(wire);
            ASSERT_TRUE(parsed);
            EXPECT_EQ(*parsed, open);
        }
    }
}

TEST(Dcep, ReliableIgnoresTheReliabilityParameter) {
    Bytes wire = dcep::encodeOpen(dcep::Open{});
    wire[7] = 9;  // RFC 8832 §5.1: ignored for reliable channels
    auto parsed = dcep::parseOpen(wire);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->reliabilityParameter, 0u);
}

TEST(Dcep, MalformedOpensAreRejected) {
    dcep::Open open;
    open.label = "abc";
    open.protocol = "de";
    const Bytes good = dcep::encodeOpen(open);
    ASSERT_TRUE(dcep::parseOpen(good));
    // Every truncation fails.
    for (size_t n = 0; n < good.size(); ++n)
        EXPECT_FALSE(dcep::parseOpen(ByteView(good.data(), n))) << n;
    // Lengths that run past the end, in every combination up to the 16-bit maximum.
    for (uint16_t labelLength : {uint16_t(4), uint16_t(6), uint16_t(0xFFFF)}) {
        Bytes bad = good;
        writeU16(&bad[8], labelLength);
        EXPECT_FALSE(dcep::parseOpen(bad)) << labelLength;
    }
    Bytes badProtocol = good;
    writeU16(&badProtocol[10], 0xFFFF);
    EXPECT_FALSE(dcep::parseOpen(badProtocol));
    // Unknown channel types and message types.
    for (uint8_t type : {uint8_t(0x03), uint8_t(0x7F), uint8_t(0x83), uint8_t(0xFF)}) {
        Bytes bad = good;
        bad[1] = type;
        EXPECT_FALSE(dcep::parseOpen(bad)) << int(type);
    }
    Bytes notOpen = good;
    notOpen[0] = 0x02;
    EXPECT_FALSE(dcep::parseOpen(notOpen));
    // Trailing bytes are tolerated.
    Bytes longer = good;
    longer.push_back(0);
    EXPECT_TRUE(dcep::parseOpen(longer));
}

TEST(Dcep, ArbitraryBytesNeverCrashTheParser) {
    uint32_t x = 12345;
    for (int i = 0; i < 20000; ++i) {
        Bytes b(x % 40);
        for (auto& v : b) {
            x = x * 1103515245 + 12345;
            v = uint8_t(x >> 16);
        }
        if (!b.empty() && (i % 2)) b[0] = 0x03;
        if (auto open = dcep::parseOpen(b)) {
            EXPECT_LE(12 + open->label.size() + open->protocol.size(), b.size());
        }
    }
}

TEST(SctpChecksum, MatchesTheCrc32cTestVector) {
    // RFC 3720 B.4: 32 bytes of zeroes have CRC32c bytes aa 36 91 8a (in transmission order).
    const Bytes zeroes(32, 0);
    EXPECT_EQ(detail::sctpChecksum(zeroes), 0x8A9136AAu);
    // The checksum field itself is taken as zero.
    Bytes withField = zeroes;
    withField[8] = 0xAA;
    withField[11] = 0x8A;
    EXPECT_EQ(detail::sctpChecksum(withField), 0x8A9136AAu);
}

TEST(SctpChecksum, MatchesABitwiseReferenceAtEveryLength) {
    // The fast path splits long inputs into three interleaved 128-byte streams: check lengths
    // around every boundary against the textbook bit-at-a-time CRC32c.
    auto reference = [](Bytes packet) {
        packet[8] = packet[9] = packet[10] = packet[11] = 0;
        uint32_t crc = 0xFFFFFFFFu;
        for (uint8_t byte : packet) {
            crc ^= byte;
            for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return ~crc;
    };
    uint32_t x = 99;
    Bytes data(5000);
    for (auto& v : data) {
        x = x * 1664525 + 1013904223;
        v = uint8_t(x >> 24);
    }
    for (size_t n = 12; n <= data.size(); n += (n < 1300 ? 1 : 97)) {
        const Bytes packet(data.begin(), data.begin() + ptrdiff_t(n));
        ASSERT_EQ(detail::sctpChecksum(packet), reference(packet)) << n;
    }
}
