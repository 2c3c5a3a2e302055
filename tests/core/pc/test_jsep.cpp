// jsep::Negotiator alone: descriptions in, descriptions out, no sockets, no clock.
#include <gtest/gtest.h>

#include "../sdp/sdp_test_util.hpp"
#include "core/pc/jsep.hpp"

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

// RFC 8829 §5.3.1: one answer m-line per offered m-line, in order, same mids; audio and video
// rejected with port 0 and kept out of BUNDLE (RFC 8843 §7.3.3) until media exists.
TEST(Jsep, ChromiumAudioVideoDataOfferIsMirroredWithMediaRejected) {
    jsep::Negotiator n;
    n.addDataSection();
    auto offer = parseOk(readFixture("chrome_av_data_offer.sdp"));
    auto params = n.setRemoteOffer(offer);
    ASSERT_TRUE(params) << params.message();
    EXPECT_EQ(params->sctpPort, 5000);
    EXPECT_FALSE(params->ice.ufrag.empty());
    EXPECT_FALSE(params->fingerprints.empty());
    auto answer = n.createAnswer(local(), sdp::Setup::Active, 2, 1);
    ASSERT_TRUE(answer) << answer.message();
    auto a = roundTrip(*answer);
    ASSERT_EQ(a.media.size(), 3u);
    EXPECT_EQ(a.media[0].kind, "audio");
    EXPECT_EQ(a.media[0].mid, "0");
    EXPECT_TRUE(a.media[0].rejected());
    EXPECT_EQ(a.media[0].protocol, offer.media[0].protocol);
    EXPECT_EQ(a.media[0].formats, offer.media[0].formats);
    EXPECT_EQ(a.media[1].kind, "video");
    EXPECT_TRUE(a.media[1].rejected());
    EXPECT_TRUE(a.media[2].isDataChannel());
    EXPECT_FALSE(a.media[2].rejected());
    EXPECT_EQ(a.media[2].mid, "2");
    EXPECT_EQ(a.media[2].setup, sdp::Setup::Active);
    EXPECT_EQ(a.bundleGroup, std::vector<std::string>{"2"});
    EXPECT_TRUE(n.setLocalAnswer(a));
    EXPECT_EQ(n.transportMid(), "2");
    EXPECT_EQ(n.transportIndex(), 2);
    ASSERT_EQ(n.sections().size(), 3u);
    EXPECT_EQ(n.sections()[0].kind, jsep::SectionKind::Audio);
    EXPECT_TRUE(n.sections()[0].rejected);
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
        EXPECT_EQ(answer->media[i].rejected(), !offer.media[i].isDataChannel()) << i;
    }
}

TEST(Jsep, OfferWithoutDataOrUsableSectionIsRefusedWithAReason) {
    jsep::Negotiator n;
    auto offer = parseOk(readFixture("chrome_av_data_offer.sdp"));
    offer.media.pop_back();  // audio + video only
    offer.bundleGroup = {"0", "1"};
    auto params = n.setRemoteOffer(offer);
    ASSERT_FALSE(params);
    EXPECT_NE(params.message().find("audio, video"), std::string::npos) << params.message();
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
    // The peer (b's side here, as a browser would) offers again with a video section added.
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
    p.candidates.push_back(std::get<ice::Candidate>(c));
    p.endOfCandidates = true;
    auto a = n.createAnswer(p, sdp::Setup::Active, 1, 1);
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->media[0].candidates.empty());
    EXPECT_EQ(a->media[2].candidates.size(), 1u);
    EXPECT_TRUE(a->media[2].endOfCandidates);
}
