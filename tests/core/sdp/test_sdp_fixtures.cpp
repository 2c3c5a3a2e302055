// Descriptions as Chromium, Firefox and aiortc write them (fixtures/README.md says where each
// comes from): the key fields, and that they survive serialize() and parse() again.
#include <algorithm>

#include <gtest/gtest.h>

#include "tests/core/sdp/sdp_test_util.hpp"

using namespace tincan;
using namespace tincan::sdp;
using namespace tincan::sdp::test;

namespace {

const char* const kFixtures[] = {
    "chrome_datachannel_offer.sdp",
    "chrome_datachannel_answer.sdp",
    "chrome_av_data_offer.sdp",
    "firefox_datachannel_offer.sdp",
    "firefox_datachannel_answer.sdp",
    "firefox_av_data_offer.sdp",
    "aiortc_offer.sdp",
    "aiortc_answer.sdp",
};

Bytes hex(std::string_view colonHex) {
    Bytes out;
    for (size_t i = 0; i + 1 < colonHex.size(); i += 3)
        out.push_back(uint8_t(std::stoi(std::string(colonHex.substr(i, 2)), nullptr, 16)));
    return out;
}

}  // namespace

TEST(SdpFixtures, AllRoundTrip) {
    for (const char* name : kFixtures) {
        SCOPED_TRACE(name);
        std::string text = readFixture(name);
        SessionDescription d = parseOk(text);
        std::string out = serialize(d);
        SessionDescription again = parseOk(out);
        EXPECT_EQ(again, d);
        // serialize() is a fixed point after one pass.
        EXPECT_EQ(serialize(again), out);

        // Bare LF parses to the same model.
        std::string lf = text;
        lf.erase(std::remove(lf.begin(), lf.end(), '\r'), lf.end());
        EXPECT_EQ(parseOk(lf), d);
    }
}

TEST(SdpFixtures, ChromeDataChannelOffer) {
    auto d = parseOk(readFixture("chrome_datachannel_offer.sdp"));
    EXPECT_EQ(d.originUsername, "-");
    EXPECT_EQ(d.sessionId, 4611731400430051336u);
    EXPECT_EQ(d.sessionVersion, 2u);
    EXPECT_EQ(d.originAddress, "127.0.0.1");
    EXPECT_EQ(d.bundleGroup, std::vector<std::string>{"0"});
    EXPECT_TRUE(d.extmapAllowMixed);
    EXPECT_EQ(d.msidSemantic, "WMS");
    EXPECT_TRUE(d.extraSessionAttributes.empty());
    ASSERT_EQ(d.media.size(), 1u);
    const auto& m = d.media[0];
    EXPECT_EQ(m.kind, "application");
    EXPECT_EQ(m.port, 9);
    EXPECT_EQ(m.protocol, "UDP/DTLS/SCTP");
    EXPECT_EQ(m.formats, std::vector<std::string>{"webrtc-datachannel"});
    EXPECT_TRUE(m.isDataChannel());
    EXPECT_FALSE(m.rejected());
    EXPECT_EQ(m.mid, "0");
    EXPECT_EQ(m.iceUfrag, "JIfa");
    EXPECT_EQ(m.icePwd, "o46Mbo82bMa7LE41zk8zpCTP");
    EXPECT_TRUE(m.iceTrickle);
    ASSERT_TRUE(m.fingerprint);
    EXPECT_EQ(m.fingerprint->algorithm, "sha-256");
    EXPECT_EQ(m.fingerprint->digest, hex("E5:25:06:8F:57:DD:C5:1B:C7:69:06:E6:D8:4D:38:6D:A3:AF:"
                                         "74:99:76:E7:54:EC:5F:B8:ED:1A:DA:74:93:CB"));
    EXPECT_EQ(m.setup, Setup::ActPass);
    EXPECT_EQ(m.sctpPort, 5000);
    EXPECT_EQ(m.maxMessageSize, 262144u);
    EXPECT_TRUE(m.candidates.empty());
    EXPECT_FALSE(m.endOfCandidates);
    EXPECT_TRUE(m.extraAttributes.empty());

    auto ice = d.effectiveIce(m);
    ASSERT_TRUE(ice);
    EXPECT_EQ(ice->ufrag, "JIfa");
    EXPECT_EQ(d.effectiveSetup(m), Setup::ActPass);
    EXPECT_EQ(d.findByMid("0"), &d.media[0]);
    EXPECT_EQ(d.findByMid("1"), nullptr);

    // This one is exactly what serialize() writes: Tincan's canonical order is Chromium's.
    EXPECT_EQ(serialize(d), readFixture("chrome_datachannel_offer.sdp"));
}

TEST(SdpFixtures, ChromeDataChannelAnswerWithMdnsCandidates) {
    auto d = parseOk(readFixture("chrome_datachannel_answer.sdp"));
    ASSERT_EQ(d.media.size(), 1u);
    const auto& m = d.media[0];
    EXPECT_EQ(m.port, 61803);
    EXPECT_EQ(m.connection, "IN IP4 203.0.113.77");
    EXPECT_EQ(m.setup, Setup::Active);
    ASSERT_EQ(m.candidates.size(), 4u);
    EXPECT_TRUE(m.candidates[0].isMdns());
    EXPECT_EQ(m.candidates[0].hostname, "d0316ef9-e881-49ea-8a90-db8ce88e53c8.local");
    EXPECT_EQ(m.candidates[0].address.port, 58731);
    EXPECT_EQ(m.candidates[0].priority, 2113937151u);
    EXPECT_EQ(m.candidates[2].type, ice::CandidateType::ServerReflexive);
    EXPECT_EQ(m.candidates[2].address.toString(), "198.51.100.23:58731");
    EXPECT_EQ(m.candidates[3].type, ice::CandidateType::Relayed);
    ASSERT_TRUE(m.candidates[3].related);
    EXPECT_EQ(m.candidates[3].related->toString(), "198.51.100.23:58731");
    EXPECT_FALSE(m.endOfCandidates);  // Chromium trickles; it never writes end-of-candidates
}

TEST(SdpFixtures, ChromeAudioVideoData) {
    auto d = parseOk(readFixture("chrome_av_data_offer.sdp"));
    EXPECT_EQ(d.bundleGroup, (std::vector<std::string>{"0", "1", "2"}));
    EXPECT_EQ(d.msidSemantic, "WMS 5b2b58b7-31f7-4d5e-9ada-4e84a46c5193");
    ASSERT_EQ(d.media.size(), 3u);

    const auto& audio = d.media[0];
    EXPECT_EQ(audio.kind, "audio");
    EXPECT_EQ(audio.protocol, "UDP/TLS/RTP/SAVPF");
    EXPECT_EQ(audio.formats,
              (std::vector<std::string>{"111", "63", "9", "0", "8", "13", "110", "126"}));
    EXPECT_EQ(audio.direction, Direction::SendRecv);
    EXPECT_TRUE(audio.rtcpMux);
    EXPECT_FALSE(audio.rtcpRsize);
    ASSERT_EQ(audio.candidates.size(), 3u);
    EXPECT_EQ(audio.candidates[2].transport, TransportProtocol::Tcp);
    EXPECT_EQ(audio.candidates[2].tcpType, "active");
    ASSERT_EQ(audio.rtpmaps.size(), 8u);
    EXPECT_EQ(audio.rtpmaps[0], (RtpMap{111, "opus", 48000, 2}));
    EXPECT_EQ(audio.rtpmaps[2], (RtpMap{9, "G722", 8000, std::nullopt}));
    EXPECT_EQ(audio.fmtp.at(111), "minptime=10;useinbandfec=1");
    EXPECT_EQ(audio.fmtp.at(63), "111/111");
    ASSERT_EQ(audio.rtcpFb.size(), 1u);
    EXPECT_EQ(audio.rtcpFb[0], (RtcpFb{111, "transport-cc", ""}));
    ASSERT_EQ(audio.extmaps.size(), 4u);
    EXPECT_EQ(audio.extmaps[0].id, 1);
    EXPECT_EQ(audio.extmaps[0].uri, "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
    EXPECT_FALSE(audio.extmaps[0].direction);
    ASSERT_EQ(audio.msids.size(), 1u);
    EXPECT_EQ(audio.msids[0].streamId, "5b2b58b7-31f7-4d5e-9ada-4e84a46c5193");
    EXPECT_EQ(audio.msids[0].trackId, "16345670-7a55-469b-b732-467de081ebbd");
    ASSERT_EQ(audio.ssrcs.size(), 2u);
    EXPECT_EQ(audio.ssrcs[0], (SsrcAttribute{3794862791u, "cname", "8Q7exQRGFLDo95X0"}));
    EXPECT_EQ(audio.ssrcs[1].value,
              "5b2b58b7-31f7-4d5e-9ada-4e84a46c5193 16345670-7a55-469b-b732-467de081ebbd");
    // a=rtcp is not modelled (rtcp-mux makes it moot) and is kept.
    EXPECT_EQ(audio.extraAttributes, std::vector<std::string>{"a=rtcp:9 IN IP4 0.0.0.0"});

    const auto& video = d.media[1];
    EXPECT_EQ(video.kind, "video");
    EXPECT_EQ(video.formats.size(), 25u);
    EXPECT_TRUE(video.rtcpRsize);
    EXPECT_EQ(video.rtpmaps.size(), 25u);
    EXPECT_EQ(video.rtcpFb.size(), 55u);  // 11 codecs x 5 feedback types
    EXPECT_EQ(video.rtcpFb[4], (RtcpFb{96, "nack", "pli"}));
    EXPECT_EQ(video.rtcpFb[2], (RtcpFb{96, "ccm", "fir"}));
    EXPECT_EQ(video.fmtp.at(97), "apt=96");
    EXPECT_EQ(video.fmtp.at(102),
              "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f");
    ASSERT_EQ(video.extmaps.size(), 11u);
    EXPECT_EQ(video.extmaps[0].id, 14);
    EXPECT_EQ(video.extmaps[0].uri, "urn:ietf:params:rtp-hdrext:toffset");
    ASSERT_EQ(video.ssrcGroups.size(), 1u);
    EXPECT_EQ(video.ssrcGroups[0], (SsrcGroup{"FID", {2859430023u, 2306131799u}}));
    EXPECT_EQ(video.ssrcs.size(), 4u);
    EXPECT_TRUE(video.candidates.empty());

    const auto& data = d.media[2];
    EXPECT_TRUE(data.isDataChannel());
    EXPECT_EQ(data.mid, "2");
    EXPECT_EQ(data.sctpPort, 5000);
    // All three share one transport (BUNDLE): the same credentials and fingerprint.
    EXPECT_EQ(d.effectiveIce(audio), d.effectiveIce(data));
    EXPECT_EQ(d.effectiveFingerprint(video), d.effectiveFingerprint(data));
}

TEST(SdpFixtures, FirefoxDataChannelOfferUsesSessionLevelFingerprint) {
    auto d = parseOk(readFixture("firefox_datachannel_offer.sdp"));
    EXPECT_EQ(d.originUsername, "mozilla...THIS_IS_SDPARTA-99.0");
    EXPECT_EQ(d.sessionId, 1979981854488409146u);
    EXPECT_EQ(d.sessionVersion, 0u);
    EXPECT_EQ(d.originAddress, "0.0.0.0");
    EXPECT_EQ(d.msidSemantic, "WMS *");
    EXPECT_TRUE(d.iceTrickle);  // session-level a=ice-options:trickle
    ASSERT_TRUE(d.sessionFingerprint);
    EXPECT_EQ(d.sessionFingerprint->algorithm, "sha-256");
    ASSERT_EQ(d.media.size(), 1u);
    const auto& m = d.media[0];
    EXPECT_FALSE(m.fingerprint);
    EXPECT_FALSE(m.iceTrickle);
    EXPECT_TRUE(d.effectiveIceTrickle(m));
    EXPECT_EQ(d.effectiveFingerprint(m), d.sessionFingerprint);
    EXPECT_EQ(d.effectiveFingerprints(m).size(), 1u);
    EXPECT_EQ(m.iceUfrag, "199dd855");
    EXPECT_EQ(m.icePwd, "2f0f6dc520748a220282177adc34dec5");
    EXPECT_EQ(m.direction, Direction::SendRecv);
    EXPECT_EQ(m.maxMessageSize, 1073741823u);
    ASSERT_EQ(m.candidates.size(), 3u);
    EXPECT_EQ(m.candidates[0].hostname, "ea5c5e10-b8f5-4bea-a905-a934148ef593.local");
    EXPECT_EQ(m.candidates[0].transport, TransportProtocol::Udp);  // Firefox writes "UDP"
    EXPECT_EQ(m.candidates[1].transport, TransportProtocol::Tcp);
    EXPECT_EQ(m.candidates[2].foundation, "1");
    EXPECT_TRUE(m.endOfCandidates);
}

TEST(SdpFixtures, FirefoxDataChannelAnswer) {
    auto d = parseOk(readFixture("firefox_datachannel_answer.sdp"));
    ASSERT_EQ(d.media.size(), 1u);
    EXPECT_EQ(d.effectiveSetup(d.media[0]), Setup::Active);
    EXPECT_EQ(d.media[0].candidates.size(), 2u);
    EXPECT_FALSE(d.media[0].endOfCandidates);
    auto ice = d.effectiveIce(d.media[0]);
    ASSERT_TRUE(ice);
    EXPECT_EQ(ice->ufrag, "e12b7b64");
    EXPECT_EQ(ice->pwd, "cfddc0ab12d36b74e36772a646d1a35b");
}

TEST(SdpFixtures, FirefoxAudioVideoData) {
    auto d = parseOk(readFixture("firefox_av_data_offer.sdp"));
    EXPECT_EQ(d.bundleGroup, (std::vector<std::string>{"0", "1", "2"}));
    ASSERT_EQ(d.media.size(), 3u);
    const auto& audio = d.media[0];
    EXPECT_EQ(audio.direction, Direction::RecvOnly);
    EXPECT_EQ(audio.rtpmaps[1], (RtpMap{9, "G722", 8000, 1}));
    EXPECT_EQ(audio.fmtp.at(101), "0-15");
    ASSERT_EQ(audio.extmaps.size(), 3u);
    EXPECT_EQ(audio.extmaps[1].direction, Direction::RecvOnly);
    EXPECT_EQ(audio.extmaps[1].uri, "urn:ietf:params:rtp-hdrext:csrc-audio-level");
    EXPECT_EQ(audio.ssrcs[0].value, "{f0bdf6ec-7445-4a46-adbc-6fc71639bbbc}");

    const auto& video = d.media[1];
    EXPECT_EQ(video.rtpmaps.size(), 11u);
    EXPECT_EQ(video.fmtp.size(), 9u);
    // Firefox lists rtcp-fb before rtpmap; the model groups them by codec in rtpmap order.
    ASSERT_EQ(video.rtcpFb.size(), 30u);
    EXPECT_EQ(video.rtcpFb[0], (RtcpFb{120, "nack", ""}));
    EXPECT_EQ(video.rtcpFb[5].payloadType, 121);
    EXPECT_EQ(video.rtcpFb[25].payloadType, 122);  // 123 (ulpfec) is listed before 122 (red)
    EXPECT_EQ(video.rtcpFb[20].payloadType, 123);

    const auto& data = d.media[2];
    EXPECT_TRUE(data.isDataChannel());
    EXPECT_EQ(d.effectiveFingerprint(data), d.sessionFingerprint);
}

TEST(SdpFixtures, AiortcLegacyOfferWithAllCandidates) {
    auto d = parseOk(readFixture("aiortc_offer.sdp"));
    EXPECT_EQ(d.sessionId, 3907165430u);
    EXPECT_EQ(d.sessionVersion, 3907165430u);
    EXPECT_EQ(d.msidSemantic, "WMS *");
    ASSERT_EQ(d.media.size(), 1u);
    const auto& m = d.media[0];
    EXPECT_EQ(m.protocol, "DTLS/SCTP");
    EXPECT_EQ(m.formats, std::vector<std::string>{"5000"});
    EXPECT_TRUE(m.isDataChannel());
    EXPECT_FALSE(m.sctpPort);
    EXPECT_EQ(m.sctpPortOrDefault(), 5000);
    EXPECT_EQ(m.extraAttributes,
              std::vector<std::string>{"a=sctpmap:5000 webrtc-datachannel 65535"});
    EXPECT_EQ(m.maxMessageSize, 65536u);
    EXPECT_FALSE(d.effectiveIceTrickle(m));  // aiortc gathers everything first
    ASSERT_EQ(m.candidates.size(), 3u);
    EXPECT_EQ(m.candidates[0].foundation, "30147864b66f128e78c04bbbfe2a84fc");
    EXPECT_EQ(m.candidates[2].related->toString(), "192.0.2.45:50119");
    EXPECT_TRUE(m.endOfCandidates);
    EXPECT_EQ(m.iceUfrag, "+Rd4");
    EXPECT_EQ(m.icePwd, "RFuZvVBIzOF72/rcQv4Qy8");
    EXPECT_EQ(m.setup, Setup::ActPass);
}

TEST(SdpFixtures, AiortcAnswer) {
    auto d = parseOk(readFixture("aiortc_answer.sdp"));
    ASSERT_EQ(d.media.size(), 1u);
    const auto& m = d.media[0];
    EXPECT_EQ(m.protocol, "UDP/DTLS/SCTP");
    EXPECT_EQ(m.sctpPort, 5000);
    EXPECT_EQ(m.maxMessageSizeOrDefault(), 65536u);
    EXPECT_EQ(m.setup, Setup::Active);
    EXPECT_EQ(m.candidates.size(), 2u);
    EXPECT_TRUE(m.endOfCandidates);
    EXPECT_FALSE(m.iceTrickle);
}
