// What Tincan sends: the data-channel-only offer and answer, and models built by hand that must
// come back unchanged from serialize() and parse().
#include <gtest/gtest.h>

#include "tests/core/sdp/sdp_test_util.hpp"

using namespace tincan;
using namespace tincan::sdp;
using namespace tincan::sdp::test;

namespace {

Fingerprint testFingerprint(uint8_t seed) {
    Fingerprint fp{"sha-256", {}};
    for (int i = 0; i < 32; ++i) fp.digest.push_back(uint8_t(seed + i * 7));
    return fp;
}

ice::Candidate candidate(std::string_view text) {
    auto r = ice::parseCandidate(text);
    EXPECT_TRUE(r.ok()) << r.message();
    return r ? *r : ice::Candidate{};
}

}  // namespace

TEST(SdpGenerate, DataChannelOffer) {
    DataChannelParams p;
    p.ice = {"Xq3v", "b7RLo1mZ0tc9GyQ4pH2sWfKd"};
    p.fingerprint = testFingerprint(0x10);
    SessionDescription offer = makeDataChannelDescription(7356806237364912345u, 2, p);

    EXPECT_EQ(serialize(offer),
              crlf({
                  "v=0",
                  "o=- 7356806237364912345 2 IN IP4 127.0.0.1",
                  "s=-",
                  "t=0 0",
                  "a=group:BUNDLE 0",
                  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
                  "c=IN IP4 0.0.0.0",
                  "a=ice-ufrag:Xq3v",
                  "a=ice-pwd:b7RLo1mZ0tc9GyQ4pH2sWfKd",
                  "a=ice-options:trickle",
                  "a=fingerprint:sha-256 10:17:1E:25:2C:33:3A:41:48:4F:56:5D:64:6B:72:79:80:87:"
                  "8E:95:9C:A3:AA:B1:B8:BF:C6:CD:D4:DB:E2:E9",
                  "a=setup:actpass",
                  "a=mid:0",
                  "a=sctp-port:5000",
                  "a=max-message-size:262144",
              }));
    EXPECT_EQ(parseOk(serialize(offer)), offer);
}

TEST(SdpGenerate, DataChannelAnswerToChrome) {
    // Answer Chromium's offer the way JSEP §5.3 says: same mid and m-line, setup:active.
    auto offer = parseOk(readFixture("chrome_datachannel_offer.sdp"));
    const MediaSection& offered = offer.media.at(0);
    ASSERT_TRUE(offered.isDataChannel());

    DataChannelParams p;
    p.mid = offered.mid;
    p.ice = {"k9Tz", "Yc1p0Qm7vRw3Lx8sN2bJ5hGd"};
    p.fingerprint = testFingerprint(0xA0);
    p.setup = Setup::Active;
    SessionDescription answer = makeDataChannelDescription(1405212233112, 2, p);
    ASSERT_TRUE(answer.media[0].candidates.empty());
    answer.media[0].candidates.push_back(
        candidate("candidate:1 1 udp 2130706431 192.0.2.8 50000 typ host"));
    answer.media[0].candidates.push_back(candidate(
        "candidate:2 1 udp 1694498815 198.51.100.9 61000 typ srflx raddr 192.0.2.8 rport 50000"));

    std::string text = serialize(answer);
    EXPECT_EQ(text, crlf({
                        "v=0",
                        "o=- 1405212233112 2 IN IP4 127.0.0.1",
                        "s=-",
                        "t=0 0",
                        "a=group:BUNDLE 0",
                        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
                        "c=IN IP4 0.0.0.0",
                        "a=ice-ufrag:k9Tz",
                        "a=ice-pwd:Yc1p0Qm7vRw3Lx8sN2bJ5hGd",
                        "a=ice-options:trickle",
                        "a=fingerprint:sha-256 A0:A7:AE:B5:BC:C3:CA:D1:D8:DF:E6:ED:F4:FB:02:09:"
                        "10:17:1E:25:2C:33:3A:41:48:4F:56:5D:64:6B:72:79",
                        "a=setup:active",
                        "a=mid:0",
                        "a=sctp-port:5000",
                        "a=max-message-size:262144",
                        "a=candidate:1 1 udp 2130706431 192.0.2.8 50000 typ host",
                        "a=candidate:2 1 udp 1694498815 198.51.100.9 61000 typ srflx raddr "
                        "192.0.2.8 rport 50000",
                    }));
    SessionDescription back = parseOk(text);
    EXPECT_EQ(back, answer);
    EXPECT_EQ(back.effectiveSetup(back.media[0]), Setup::Active);
    EXPECT_EQ(back.media[0].candidates[1].related->toString(), "192.0.2.8:50000");
}

TEST(SdpGenerate, RichModelRoundTrips) {
    SessionDescription d;
    d.originUsername = "tincan";
    d.sessionId = 9223372036854775807u;
    d.sessionVersion = 18446744073709551615u;
    d.originAddressType = "IP6";
    d.originAddress = "::1";
    d.sessionName = "a call";
    d.connection = "IN IP4 192.0.2.1";
    d.bandwidths = {"AS:512"};
    d.bundleGroup = {"a", "v", "d"};
    d.extmapAllowMixed = true;
    d.msidSemantic = "WMS s1";
    d.iceLite = true;
    d.sessionIce = IceParams{"SeSs", "SessionPasswordSession++"};
    d.iceTrickle = true;
    d.iceOptions = {"renomination"};
    d.sessionFingerprint = testFingerprint(1);
    d.additionalSessionFingerprints = {Fingerprint{"sha-1", Bytes(20, 0xAB)}};
    d.sessionSetup = Setup::Passive;
    d.extraSessionAttributes = {"a=x-session-thing:1 2 3"};

    MediaSection audio;
    audio.kind = "audio";
    audio.port = 50000;
    audio.protocol = "UDP/TLS/RTP/SAVPF";
    audio.formats = {"111", "0", "101"};
    audio.connection = "IN IP6 2001:db8::7";
    audio.bandwidths = {"TIAS:64000"};
    audio.mid = "a";
    audio.iceUfrag = "AuDi";
    audio.icePwd = "AudioPasswordAudio1234";
    audio.iceOptions = {"ice2"};
    audio.fingerprint = Fingerprint{"sha-384", Bytes(48, 0x42)};
    audio.additionalFingerprints = {Fingerprint{"x-unknown", {0x01, 0x02}}};
    audio.setup = Setup::HoldConn;
    audio.candidates = {
        candidate("candidate:1 1 udp 2122260223 2001:db8::7 50000 typ host"),
        candidate("candidate:2 1 tcp 1518280447 2001:db8::7 9 typ host tcptype active"),
        candidate("candidate:3 1 udp 2113937151 5e1c2a4b-0b1e-4c0a-9c5d-1f2e3d4c5b6a.local "
                  "50001 typ host"),
    };
    audio.endOfCandidates = true;
    audio.direction = Direction::SendOnly;
    audio.rtcpMux = true;
    audio.rtcpMuxOnly = true;
    audio.rtpmaps = {{111, "opus", 48000, 2},
                     {0, "PCMU", 8000, std::nullopt},
                     {101, "telephone-event", 8000, 1}};
    audio.fmtp = {{111, "minptime=10;useinbandfec=1"}, {101, "0-15"}, {99, "apt=98"}};
    audio.rtcpFb = {{111, "transport-cc", ""},
                    {111, "nack", ""},
                    {RtcpFb::kAnyPayloadType, "ccm", "tmmbr smaxpr=120"}};
    audio.extmaps = {{1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level", std::nullopt, "vad=on"},
                     {2, "urn:ietf:params:rtp-hdrext:csrc-audio-level", Direction::RecvOnly, ""}};
    audio.ssrcs = {{1111, "cname", "c1"}, {1111, "msid", "s1 t1"}, {1111, "x-flag", ""}};
    audio.ssrcGroups = {{"FEC-FR", {1111, 2222}}};
    audio.msids = {{"s1", "t1"}, {"-", ""}};
    audio.extraAttributes = {"a=ptime:20", "a=rtcp:9 IN IP4 0.0.0.0"};
    d.media.push_back(audio);

    MediaSection video;
    video.kind = "video";
    video.port = 0;
    video.bundleOnly = true;
    video.protocol = "UDP/TLS/RTP/SAVPF";
    video.formats = {"96"};
    video.mid = "v";
    video.direction = Direction::Inactive;
    video.rtcpRsize = true;
    video.rtpmaps = {{96, "VP8", 90000, std::nullopt}};
    d.media.push_back(video);

    MediaSection data;  // defaults: application 9 UDP/DTLS/SCTP webrtc-datachannel
    data.mid = "d";
    data.portCount = 2;
    data.sctpPort = 5001;
    data.maxMessageSize = 0;  // RFC 8841 §6.1: no limit
    data.direction = Direction::RecvOnly;
    d.media.push_back(data);

    MediaSection rejected;
    rejected.kind = "video";
    rejected.port = 0;
    rejected.protocol = "UDP/TLS/RTP/SAVPF";
    rejected.formats = {"98"};
    d.media.push_back(rejected);

    std::string text = serialize(d);
    SessionDescription back = parseOk(text);
    EXPECT_EQ(back, d) << text;
    EXPECT_EQ(serialize(back), text);

    EXPECT_FALSE(back.media[1].rejected());  // bundle-only
    EXPECT_TRUE(back.media[3].rejected());
    EXPECT_EQ(back.media[2].sctpPortOrDefault(), 5001);
    // Media-level values win over session-level ones; session-level ones fill the gaps.
    EXPECT_EQ(back.effectiveIce(back.media[0]), (IceParams{"AuDi", "AudioPasswordAudio1234"}));
    EXPECT_EQ(back.effectiveIce(back.media[1]), d.sessionIce);
    EXPECT_EQ(back.effectiveSetup(back.media[0]), Setup::HoldConn);
    EXPECT_EQ(back.effectiveSetup(back.media[1]), Setup::Passive);
    EXPECT_EQ(back.effectiveFingerprints(back.media[0]).size(), 2u);
    EXPECT_EQ(back.effectiveFingerprints(back.media[1]).size(), 2u);
    EXPECT_EQ(back.effectiveFingerprint(back.media[1]), d.sessionFingerprint);
    EXPECT_TRUE(back.effectiveIceTrickle(back.media[1]));

    // Every modelled field matters to equality.
    SessionDescription changed = back;
    changed.media[0].candidates[2].hostname = "other.local";
    EXPECT_NE(changed, back);
    changed = back;
    changed.media[0].rtcpFb[0].parameter = "x";
    EXPECT_NE(changed, back);
}

TEST(SdpGenerate, FingerprintText) {
    Fingerprint fp{"sha-1", {0x00, 0x0f, 0xf0, 0xff}};
    EXPECT_EQ(fp.toString(), "sha-1 00:0F:F0:FF");
    EXPECT_EQ(digestLength("sha-256"), 32u);
    EXPECT_EQ(digestLength("sha-512"), 64u);
    EXPECT_FALSE(digestLength("x-unknown"));
    EXPECT_STREQ(toString(Setup::ActPass), "actpass");
    EXPECT_STREQ(toString(Direction::RecvOnly), "recvonly");
    EXPECT_EQ(parseSetup("holdconn"), Setup::HoldConn);
    EXPECT_FALSE(parseDirection("sendreceive"));
}
