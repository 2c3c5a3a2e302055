// SRTP sessions for both DTLS roles keyed as RFC 5764 §4.2 lays the material out: RTP and RTCP
// round-trip both ways for each profile; replays, tampering and wrong keys are dropped and
// counted; bad keying material is refused with a reason.
#include <gtest/gtest.h>

#include "core/rtp/rtcp.hpp"
#include "core/rtp/rtp_packet.hpp"
#include "core/srtp/srtp_session.hpp"

using namespace tincan;
using namespace tincan::srtp;

namespace {

dtls::SrtpKeyingMaterial keysFor(uint16_t profile) {
    const size_t keyLen = profile == dtls::kSrtpAeadAes256Gcm ? 32 : 16;
    const size_t saltLen =
        (profile == dtls::kSrtpAeadAes128Gcm || profile == dtls::kSrtpAeadAes256Gcm) ? 12 : 14;
    dtls::SrtpKeyingMaterial k;
    k.profile = profile;
    for (size_t i = 0; i < keyLen; ++i) {
        k.clientKey.push_back(uint8_t(i + 1));
        k.serverKey.push_back(uint8_t(0x80 + i));
    }
    for (size_t i = 0; i < saltLen; ++i) {
        k.clientSalt.push_back(uint8_t(0x40 + i));
        k.serverSalt.push_back(uint8_t(0xC0 + i));
    }
    return k;
}

std::unique_ptr<SrtpSession> mustCreate(const dtls::SrtpKeyingMaterial& k, dtls::Role role) {
    auto r = SrtpSession::create(k, role);
    if (!r) {
        ADD_FAILURE() << r.error().message;
        return nullptr;
    }
    return std::move(r).value();
}

Bytes rtpPacket(uint16_t seq, std::string_view payload) {
    rtp::RtpHeader h;
    h.payloadType = 96;
    h.sequenceNumber = seq;
    h.timestamp = 3000u * seq;
    h.ssrc = 0x1234;
    return rtp::serializeRtp(h, asBytes(payload));
}

class SrtpProfiles : public ::testing::TestWithParam<uint16_t> {};

}  // namespace

TEST_P(SrtpProfiles, RoundTripBothWaysAndCountsDrops) {
    auto keys = keysFor(GetParam());
    auto client = mustCreate(keys, dtls::Role::Client);
    auto server = mustCreate(keys, dtls::Role::Server);
    ASSERT_TRUE(client && server);
    EXPECT_EQ(client->profile(), GetParam());

    // RTP client → server.
    const Bytes plain = rtpPacket(1, "some video payload");
    Bytes wire = plain;
    ASSERT_TRUE(client->protectRtp(wire));
    EXPECT_GT(wire.size(), plain.size());
    EXPECT_NE(Bytes(wire.begin() + 12, wire.begin() + long(plain.size())),
              Bytes(plain.begin() + 12, plain.end()));  // the payload is encrypted
    Bytes copy = wire;
    auto n = server->unprotectRtp(copy);
    ASSERT_TRUE(n);
    EXPECT_EQ(Bytes(copy.begin(), copy.begin() + long(*n)), plain);

    // The same packet again: a replay.
    Bytes again = wire;
    EXPECT_FALSE(server->unprotectRtp(again));
    EXPECT_EQ(server->stats().replayDropped, 1u);

    // One flipped bit in the payload: authentication fails.
    Bytes tampered = rtpPacket(2, "another payload");
    ASSERT_TRUE(client->protectRtp(tampered));
    tampered[14] ^= 0x01;
    EXPECT_FALSE(server->unprotectRtp(tampered));
    EXPECT_EQ(server->stats().authFailed, 1u);

    // A packet from our own outbound keys is not something the peer's keys accept.
    Bytes reflected = rtpPacket(3, "echo");
    ASSERT_TRUE(server->protectRtp(reflected));
    Bytes reflectedCopy = reflected;  // a failed unprotect may leave the buffer changed (GCM)
    EXPECT_FALSE(server->unprotectRtp(reflectedCopy));
    EXPECT_EQ(server->stats().authFailed, 2u);
    // ... but the client's inbound does.
    ASSERT_TRUE(client->unprotectRtp(reflected));

    // RTCP both ways (a compound RR + SDES, and a PLI).
    std::vector<rtp::RtcpPacket> compound{rtp::ReceiverReport{7, {}}, rtp::Sdes{{{7, "cname"}}}};
    const Bytes rtcpPlain = rtp::serializeRtcp(compound);
    Bytes rtcp = rtcpPlain;
    ASSERT_TRUE(server->protectRtcp(rtcp));
    Bytes rtcpCopy = rtcp;
    auto m = client->unprotectRtcp(rtcpCopy);
    ASSERT_TRUE(m);
    EXPECT_EQ(Bytes(rtcpCopy.begin(), rtcpCopy.begin() + long(*m)), rtcpPlain);
    EXPECT_FALSE(client->unprotectRtcp(rtcp));  // SRTCP replay
    EXPECT_EQ(client->stats().replayDropped, 1u);
    Bytes pli = rtp::serializeRtcp(rtp::RtcpPacket(rtp::Pli{1, 2}));
    ASSERT_TRUE(client->protectRtcp(pli));
    pli[9] ^= 0x80;
    EXPECT_FALSE(server->unprotectRtcp(pli));
    EXPECT_EQ(server->stats().authFailed, 3u);

    // Into a buffer: the input is left as it was.
    Bytes third = rtpPacket(9, "into a buffer");
    const Bytes thirdPlain = third;
    ASSERT_TRUE(client->protectRtp(third));
    const Bytes thirdWire = third;
    Bytes out;
    ASSERT_TRUE(server->unprotectRtpInto(third, out));
    EXPECT_EQ(out, thirdPlain);
    EXPECT_EQ(third, thirdWire);
    EXPECT_FALSE(server->unprotectRtpInto(third, out));  // replay
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(server->stats().replayDropped, 2u);

    // Too short to be RTP at all.
    Bytes tiny{0x80, 0x60, 0, 1};
    EXPECT_FALSE(server->unprotectRtp(tiny));
    EXPECT_FALSE(client->protectRtp(tiny));
    EXPECT_EQ(server->stats().otherDropped, 1u);
    EXPECT_EQ(client->stats().otherDropped, 1u);

    EXPECT_EQ(client->stats().rtpProtected, 3u);
    EXPECT_EQ(server->stats().rtpUnprotected, 2u);
    EXPECT_EQ(server->stats().rtcpProtected, 1u);
    EXPECT_EQ(client->stats().rtcpUnprotected, 1u);
}

TEST_P(SrtpProfiles, ReorderedPacketsInsideTheWindowAreAccepted) {
    auto keys = keysFor(GetParam());
    auto client = mustCreate(keys, dtls::Role::Client);
    auto server = mustCreate(keys, dtls::Role::Server);
    std::vector<Bytes> sent;
    for (uint16_t s = 100; s < 110; ++s) {
        sent.push_back(rtpPacket(s, "x"));
        ASSERT_TRUE(client->protectRtp(sent.back()));
    }
    // Retransmission of the same sequence number (no RTX) is allowed on the send side.
    Bytes resend = rtpPacket(105, "x");
    EXPECT_TRUE(client->protectRtp(resend));
    for (int i = 9; i >= 0; --i) EXPECT_TRUE(server->unprotectRtp(sent[size_t(i)])) << i;
    EXPECT_EQ(server->stats().rtpUnprotected, 10u);
}

INSTANTIATE_TEST_SUITE_P(Profiles, SrtpProfiles,
                         ::testing::Values(dtls::kSrtpAes128CmSha1_80, dtls::kSrtpAeadAes128Gcm,
                                           dtls::kSrtpAes128CmSha1_32, dtls::kSrtpAeadAes256Gcm),
                         [](const auto& info) {
                             return std::string(dtls::srtpProfileName(info.param));
                         });

TEST(SrtpSession, RefusesBadKeyingMaterial) {
    auto reason = [](const dtls::SrtpKeyingMaterial& k) {
        auto r = SrtpSession::create(k, dtls::Role::Client);
        return r.message();
    };
    auto k = keysFor(dtls::kSrtpAes128CmSha1_80);
    k.profile = 0x0099;
    EXPECT_EQ(reason(k), "unsupported SRTP profile 153");
    k = keysFor(dtls::kSrtpAes128CmSha1_80);
    k.serverKey.pop_back();
    EXPECT_EQ(reason(k), "SRTP master key length does not match the profile");
    k = keysFor(dtls::kSrtpAeadAes128Gcm);
    k.clientSalt.push_back(0);  // 13 bytes: neither GCM's 12 nor CM's 14
    EXPECT_EQ(reason(k), "SRTP master salt length does not match the profile");
}
