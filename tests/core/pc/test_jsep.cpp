// jsep::Negotiator alone: descriptions in, descriptions out, no sockets, no clock.
#include <gtest/gtest.h>

#include "../sdp/sdp_test_util.hpp"
#include "core/pc/jsep.hpp"

#include <map>

using namespace tincan;
using namespace tincan::pc;
using tincan::sdp::test::parseOk;
using tincan::sdp::test::readFixture;

namespace {

jsep::LocalParams local(const std::string& ufrag = "ufrag") {
    jsep::LocalParams p;
    p.ice = {ufrag, "passwordpasswordpassword"};
    p.fingerprint = sdp::Fingerprint{"sha-256", Bytes(32, 0xAB)};
    return p;
}

// What our writer produces must parse back: the description goes over the wire as text.
sdp::SessionDescription roundTrip(const sdp::SessionDescription& d) {
    return parseOk(sdp::serialize(d));
}

}  // namespace

TEST(Jsep, FirstOfferHasOneBundledDataSection) {
    jsep::Negotiator n;
    EXPECT_TRUE(n.addDataSection());
    EXPECT_FALSE(n.addDataSection()) << "a second data section is no change";
    auto offer = roundTrip(n.createOffer(local(), 1, 1));
    ASSERT_EQ(offer.media.size(), 1u);
    EXPECT_TRUE(offer.media[0].isDataChannel());
    EXPECT_EQ(offer.media[0].mid, "0");
    EXPECT_EQ(offer.media[0].setup, sdp::Setup::ActPass);
    EXPECT_EQ(offer.bundleGroup, std::vector<std::string>{"0"});
}

// RFC 8829 §5.3.1: one answer m-line per offered m-line, in order, same mids. With no track of
// ours, audio and video are accepted receive-only (W3C: a transceiver is made for each), with
// Opus and VP8 picked out of Chromium's long lists under the offer's payload types and
// extension ids; everything is bundled on the first section.
TEST(Jsep, ChromiumAudioVideoDataOfferGetsOpusAndVp8ReceiveOnly) {
    jsep::Negotiator n;
    n.addDataSection();
    auto offer = parseOk(readFixture("chrome_av_data_offer.sdp"));
    auto params = n.setRemoteOffer(offer);
    ASSERT_TRUE(params) << params.message();
    EXPECT_EQ(params->sctpPort, 5000);
    EXPECT_EQ(params->sackEvery, 2) << "a browser gets SACKs at the RFC 9260 rate";
    EXPECT_FALSE(params->ice.ufrag.empty());
    EXPECT_FALSE(params->fingerprints.empty());
    auto answer = n.createAnswer(local(), sdp::Setup::Active, 2, 1);
    ASSERT_TRUE(answer) << answer.message();
    auto a = roundTrip(*answer);
    ASSERT_EQ(a.media.size(), 3u);
    const auto& audio = a.media[0];
    EXPECT_EQ(audio.kind, "audio");
    EXPECT_EQ(audio.mid, "0");
    EXPECT_FALSE(audio.rejected());
    EXPECT_EQ(audio.protocol, offer.media[0].protocol);
    EXPECT_EQ(audio.formats, std::vector<std::string>{"111"});
    ASSERT_EQ(audio.rtpmaps.size(), 1u);
    EXPECT_EQ(audio.rtpmaps[0].encoding, "opus");
    // Our wishes as Opus receiver (RFC 7587 §6.1): FEC and DTX.
    EXPECT_EQ(audio.fmtp.at(111), "minptime=10;useinbandfec=1;usedtx=1");
    EXPECT_EQ(audio.direction, sdp::Direction::RecvOnly);
    EXPECT_TRUE(audio.rtcpMux);
    EXPECT_TRUE(audio.ssrcs.empty()) << "a receive-only section announces no SSRC";
    const auto& video = a.media[1];
    EXPECT_EQ(video.kind, "video");
    EXPECT_EQ(video.formats, (std::vector<std::string>{"96", "97"}));
    EXPECT_EQ(video.fmtp.at(97), "apt=96");
    EXPECT_EQ(video.direction, sdp::Direction::RecvOnly);
    // Only the extensions Tincan implements, under the offer's ids (RFC 8285 §6).
    std::map<std::string, int> ext;
    for (const auto& e : video.extmaps) ext[e.uri] = e.id;
    EXPECT_EQ(ext.size(), 3u);
    EXPECT_EQ(ext["urn:ietf:params:rtp-hdrext:sdes:mid"], 4);
    EXPECT_EQ(ext["http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"], 3);
    bool nack = false, pli = false, twcc = false;
    for (const auto& fb : video.rtcpFb) {
        EXPECT_EQ(fb.payloadType, 96);
        nack |= fb.type == "nack" && fb.parameter.empty();
        pli |= fb.type == "nack" && fb.parameter == "pli";
        twcc |= fb.type == "transport-cc";
    }
    EXPECT_TRUE(nack && pli && twcc);
    EXPECT_TRUE(a.media[2].isDataChannel());
    EXPECT_FALSE(a.media[2].rejected());
    EXPECT_EQ(a.media[2].mid, "2");
    EXPECT_EQ(a.media[2].setup, sdp::Setup::Active);
    EXPECT_EQ(a.bundleGroup, (std::vector<std::string>{"0", "1", "2"}));
    EXPECT_TRUE(n.setLocalAnswer(a));
    EXPECT_EQ(n.transportMid(), "0");
    ASSERT_EQ(n.sections().size(), 3u);
    EXPECT_EQ(n.sections()[0].kind, jsep::SectionKind::Audio);
    EXPECT_FALSE(n.sections()[0].rejected);

    // What the media transport gets: the offer's SSRCs (and the RTX pairing) to demultiplex.
    auto media = n.negotiatedMedia();
    ASSERT_EQ(media.size(), 2u);
    // The encoder gets Chromium's wishes for what we send it (no usedtx there).
    EXPECT_EQ(media[0].config.codec.fmtp, "minptime=10;useinbandfec=1");
    EXPECT_EQ(media[1].config.codec.name, "VP8");
    EXPECT_EQ(media[1].config.codec.payloadType, 96);
    EXPECT_EQ(media[1].config.rtxPayloadType, 97);
    EXPECT_FALSE(media[1].config.send);
    EXPECT_TRUE(media[1].config.recv);
    EXPECT_TRUE(media[1].config.nack);
    EXPECT_FALSE(media[1].config.remoteSsrcs.empty());
    EXPECT_EQ(media[1].config.remoteRtxToMedia.size(), 1u);
    MediaConfig bundle;
    jsep::fillBundleMediaConfig(n.sections(), bundle);
    EXPECT_EQ(bundle.midExtensionId, 4);
    EXPECT_EQ(bundle.transportCcExtensionId, 3);
    EXPECT_TRUE(bundle.transportCc);
}

// Our tracks, offered to a Tincan peer that has none: it receives, then adds its own track,
// which takes over the transceiver made for our section (W3C addTrack), and its next offer
// makes the section two-way.
TEST(Jsep, TincanToTincanMediaOneWayThenBothWays) {
    jsep::Negotiator a, b;
    a.addDataSection();
    b.addDataSection();
    jsep::MediaWish v;
    v.id = 1;
    v.kind = jsep::SectionKind::Video;
    EXPECT_EQ(a.addMediaWish(v), 1);
    jsep::MediaWish au;
    au.id = 2;
    au.kind = jsep::SectionKind::Audio;
    a.addMediaWish(au);
    auto offer = roundTrip(a.createOffer(local("ufa1"), 1, 1));
    ASSERT_EQ(offer.media.size(), 3u);
    EXPECT_EQ(offer.media[1].kind, "video");
    EXPECT_EQ(offer.media[1].direction, sdp::Direction::SendRecv);
    ASSERT_EQ(offer.media[1].ssrcGroups.size(), 1u) << "VP8 is offered with RTX (FID group)";
    EXPECT_EQ(offer.bundleGroup.size(), 3u);
    ASSERT_TRUE(a.setLocalOffer(offer));
    ASSERT_TRUE(b.setRemoteOffer(offer));
    auto answer = roundTrip(*b.createAnswer(local("ufb1"), sdp::Setup::Active, 2, 1));
    EXPECT_EQ(answer.media[1].direction, sdp::Direction::RecvOnly);
    ASSERT_TRUE(b.setLocalAnswer(answer));
    ASSERT_TRUE(a.setRemoteAnswer(answer));
    auto am = a.negotiatedMedia();
    auto bm = b.negotiatedMedia();
    ASSERT_EQ(am.size(), 2u);
    ASSERT_EQ(bm.size(), 2u);
    EXPECT_TRUE(am[0].config.send);
    EXPECT_FALSE(am[0].config.recv);
    EXPECT_TRUE(bm[0].config.recv);
    EXPECT_EQ(bm[0].config.remoteSsrcs, std::vector<uint32_t>{am[0].config.localSsrc});
    EXPECT_EQ(bm[0].config.remoteRtxToMedia.at(am[0].config.localRtxSsrc), am[0].config.localSsrc);
    // Tincan asks for DTX and FEC as receiver, so a Tincan sender turns them on.
    EXPECT_NE(am[1].config.codec.fmtp.find("usedtx=1"), std::string::npos)
        << am[1].config.codec.fmtp;
    EXPECT_NE(am[1].config.codec.fmtp.find("useinbandfec=1"), std::string::npos);

    // b adds a video track: it reuses the transceiver made for a's section.
    jsep::MediaWish bv;
    bv.id = 7;
    bv.kind = jsep::SectionKind::Video;
    EXPECT_EQ(b.addMediaWish(bv), bm[0].wish);
    auto second = roundTrip(b.createOffer(local("ufb1"), 2, 2));
    ASSERT_EQ(second.media.size(), 3u) << "no new section";
    EXPECT_EQ(second.media[1].direction, sdp::Direction::SendRecv);
    EXPECT_EQ(second.media[1].formats, offer.media[1].formats) << "the agreed numbers are kept";
    ASSERT_TRUE(b.setLocalOffer(second));
    ASSERT_TRUE(a.setRemoteOffer(second));
    auto reply = roundTrip(*a.createAnswer(local("ufa1"), sdp::Setup::Passive, 1, 2));
    EXPECT_EQ(reply.media[1].direction, sdp::Direction::SendRecv);
    ASSERT_TRUE(a.setLocalAnswer(reply));
    ASSERT_TRUE(b.setRemoteAnswer(reply));
    EXPECT_TRUE(a.negotiatedMedia()[0].config.recv);
    EXPECT_TRUE(b.negotiatedMedia()[0].config.send);
}

// a=x-tincan-sack-every goes in the data section of offers and answers when above 2, and the
// peer's value is what our SCTP receiver uses.
TEST(Jsep, FewerSacksAreOfferedAndAnsweredBetweenTincanPeers) {
    jsep::Negotiator a, b;
    a.addDataSection();
    b.addDataSection();
    auto la = local("ufa1");
    la.sackEvery = 8;
    auto offer = roundTrip(a.createOffer(la, 1, 1));
    EXPECT_EQ(offer.media[0].sackEvery, std::optional<uint8_t>(8));
    ASSERT_TRUE(a.setLocalOffer(offer));
    auto seen = b.setRemoteOffer(offer);
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->sackEvery, 8);
    auto answer = roundTrip(*b.createAnswer(local("ufb1"), sdp::Setup::Active, 2, 1));
    EXPECT_FALSE(answer.media[0].sackEvery) << "2 is the default and is not written";
    ASSERT_TRUE(b.setLocalAnswer(answer));
    auto back = a.setRemoteAnswer(answer);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->sackEvery, 2);
}

TEST(Jsep, FirefoxOfferToo) {
    jsep::Negotiator n;
    auto offer = parseOk(readFixture("firefox_av_data_offer.sdp"));
    auto params = n.setRemoteOffer(offer);
    ASSERT_TRUE(params) << params.message();
    auto answer = n.createAnswer(local(), sdp::Setup::Active, 2, 1);
    ASSERT_TRUE(answer);
    ASSERT_EQ(answer->media.size(), offer.media.size());
    for (size_t i = 0; i < offer.media.size(); ++i) {
        EXPECT_EQ(answer->media[i].mid, offer.media[i].mid) << i;
        EXPECT_FALSE(answer->media[i].rejected()) << i << ": Firefox offers Opus, VP8 and data";
    }
    EXPECT_EQ(answer->media[0].formats, std::vector<std::string>{"109"});
    EXPECT_EQ(answer->media[1].formats.front(), "120");
    // Our later re-offer keeps Firefox's numbers (Opus 109, VP8 120), not Tincan's own 111/96.
    ASSERT_TRUE(n.setLocalAnswer(roundTrip(*answer)));
    auto reoffer = roundTrip(n.createOffer(local(), 2, 2));
    ASSERT_EQ(reoffer.media.size(), offer.media.size());
    EXPECT_EQ(reoffer.media[0].formats, std::vector<std::string>{"109"});
    EXPECT_EQ(reoffer.media[1].formats.front(), "120");
    EXPECT_EQ(reoffer.media[1].findRtpMap(120)->encoding, "VP8");
}

TEST(Jsep, OfferWithoutDataOrUsableSectionIsRefusedWithAReason) {
    jsep::Negotiator n;
    auto offer = parseOk(readFixture("chrome_av_data_offer.sdp"));
    offer.media.erase(offer.media.begin());  // video + data
    offer.media.pop_back();                  // video only
    offer.bundleGroup = {"1"};
    // Only H.264 left: no codec Tincan has.
    auto& v = offer.media[0];
    std::vector<std::string> formats;
    for (const auto& f : v.formats)
        if (auto* r = v.findRtpMap(std::stoi(f)); r && r->encoding == "H264") formats.push_back(f);
    v.formats = formats;
    auto params = n.setRemoteOffer(offer);
    ASSERT_FALSE(params);
    EXPECT_NE(params.message().find("it has: video"), std::string::npos) << params.message();
    EXPECT_EQ(n.staged(), nullptr) << "a refused offer stages nothing";
}

// Renegotiation: the peer adds a section mid-session; the answer keeps the old ones in place.
TEST(Jsep, RenegotiationAddsASectionAndKeepsTheOthers) {
    jsep::Negotiator a, b;
    a.addDataSection();
    b.addDataSection();
    auto offer = roundTrip(a.createOffer(local("ufa1"), 1, 1));
    ASSERT_TRUE(a.setLocalOffer(offer));
    ASSERT_TRUE(b.setRemoteOffer(offer));
    auto answer = roundTrip(*b.createAnswer(local("ufb1"), sdp::Setup::Active, 2, 1));
    ASSERT_TRUE(b.setLocalAnswer(answer));
    ASSERT_TRUE(a.setRemoteAnswer(answer));
    // The peer (b's side here, as a browser would) offers again with a video section added,
    // one with no codec Tincan has (no rtpmap): it is answered as rejected.
    auto second = roundTrip(b.createOffer(local("ufb1"), 2, 2));
    sdp::MediaSection video;
    video.kind = "video";
    video.protocol = "UDP/TLS/RTP/SAVPF";
    video.formats = {"96"};
    video.mid = "1";
    second.media.push_back(video);
    auto params = a.setRemoteOffer(second);
    ASSERT_TRUE(params) << params.message();
    auto reply = a.createAnswer(local("ufa1"), sdp::Setup::Passive, 1, 2);
    ASSERT_TRUE(reply);
    ASSERT_EQ(reply->media.size(), 2u);
    EXPECT_EQ(reply->media[0].mid, "0");
    EXPECT_FALSE(reply->media[0].rejected());
    EXPECT_EQ(reply->media[1].mid, "1");
    EXPECT_TRUE(reply->media[1].rejected());
    ASSERT_TRUE(a.setLocalAnswer(*reply));
    // Our next offer keeps the rejected section in its place (RFC 8829 §5.2.2).
    auto third = roundTrip(a.createOffer(local("ufa1"), 1, 3));
    ASSERT_EQ(third.media.size(), 2u);
    EXPECT_EQ(third.media[1].mid, "1");
    EXPECT_TRUE(third.media[1].rejected());
    EXPECT_EQ(third.bundleGroup, std::vector<std::string>{"0"});
}

TEST(Jsep, AnOfferThatDropsOrRenamesSectionsIsRefused) {
    jsep::Negotiator a;
    a.addDataSection();
    auto offer = parseOk(readFixture("chrome_av_data_offer.sdp"));
    ASSERT_TRUE(a.setRemoteOffer(offer));
    ASSERT_TRUE(a.setLocalAnswer(roundTrip(*a.createAnswer(local(), sdp::Setup::Active, 1, 1))));
    auto fewer = offer;
    fewer.media.erase(fewer.media.begin());
    EXPECT_FALSE(a.setRemoteOffer(fewer));
    auto renamed = offer;
    renamed.media[2].mid = "x";
    auto r = a.setRemoteOffer(renamed);
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("mid"), std::string::npos) << r.message();
}

// An offer from a stack that writes no a=mid (pre-BUNDLE SDP) is not refused: each m-line takes
// its index as mid, as libwebrtc fills in missing remote mids, and the answer names it. Found by
// fuzz_peer_signal, whose invariant had expected the answer to copy the empty mid.
TEST(Jsep, OfferWithoutMidsIsAnsweredWithIndexMids) {
    jsep::Negotiator theirs;
    theirs.addDataSection();
    theirs.addMediaWish({.id = 1, .kind = jsep::SectionKind::Audio, .trackId = "a", .ssrc = 5});
    auto offer = roundTrip(theirs.createOffer(local("ufzz"), 1, 1));
    ASSERT_EQ(offer.media.size(), 2u);
    offer.bundleGroup.clear();
    for (auto& m : offer.media) m.mid.clear();
    offer = roundTrip(offer);
    ASSERT_TRUE(offer.media[1].mid.empty());

    jsep::Negotiator n;
    n.addDataSection();
    auto params = n.setRemoteOffer(offer);
    ASSERT_TRUE(params) << params.message();
    auto answer = n.createAnswer(local(), sdp::Setup::Active, 2, 1);
    ASSERT_TRUE(answer) << answer.message();
    auto a = roundTrip(*answer);
    ASSERT_EQ(a.media.size(), 2u);
    EXPECT_EQ(a.media[0].mid, "0");
    EXPECT_EQ(a.media[1].mid, "1");
    EXPECT_TRUE(a.bundleGroup.empty()) << "no group in the offer, none in the answer";
    ASSERT_TRUE(n.setLocalAnswer(a));
    // The same offer again (a renegotiation with nothing new) keeps the mids.
    EXPECT_TRUE(n.setRemoteOffer(offer));
}

TEST(Jsep, AnswerMustMirrorTheOffer) {
    jsep::Negotiator a;
    a.addDataSection();
    auto offer = roundTrip(a.createOffer(local(), 1, 1));
    ASSERT_TRUE(a.setLocalOffer(offer));
    auto bad = offer;
    bad.media[0].mid = "7";
    bad.media[0].setup = sdp::Setup::Active;
    auto r = a.setRemoteAnswer(bad);
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("mid"), std::string::npos);
    auto actpass = offer;  // the answer echoes actpass: not a valid answer
    EXPECT_FALSE(a.setRemoteAnswer(actpass));
}

TEST(Jsep, RollbackForgetsTheStagedOffer) {
    jsep::Negotiator a;
    a.addDataSection();
    auto offer = roundTrip(a.createOffer(local(), 1, 1));
    ASSERT_TRUE(a.setLocalOffer(offer));
    ASSERT_NE(a.staged(), nullptr);
    a.rollback();
    EXPECT_EQ(a.staged(), nullptr);
    EXPECT_TRUE(a.sections().empty());
    // Glare the other way: a remote offer replaces our staged one (implicit rollback).
    ASSERT_TRUE(a.setLocalOffer(offer));
    jsep::Negotiator b;
    b.addDataSection();
    auto theirs = roundTrip(b.createOffer(local("ufbb"), 2, 1));
    ASSERT_TRUE(a.setRemoteOffer(theirs));
    EXPECT_TRUE(a.createAnswer(local(), sdp::Setup::Active, 1, 2));
}

TEST(Jsep, CandidatesGoOnTheTransportSectionOnly) {
    jsep::Negotiator n;
    auto offer = parseOk(readFixture("chrome_av_data_offer.sdp"));
    ASSERT_TRUE(n.setRemoteOffer(offer));
    auto p = local();
    auto c = ice::parseCandidate("candidate:1 1 udp 2130706431 192.0.2.1 50000 typ host");
    p.candidates.push_back(c.value());
    p.endOfCandidates = true;
    auto a = n.createAnswer(p, sdp::Setup::Active, 1, 1);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->media[0].candidates.size(), 1u);
    EXPECT_TRUE(a->media[0].endOfCandidates);
    EXPECT_TRUE(a->media[1].candidates.empty());
    EXPECT_TRUE(a->media[2].candidates.empty());
}
