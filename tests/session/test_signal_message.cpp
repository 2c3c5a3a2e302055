// session::sig::decode: every frame the signaling socket can deliver, the peer's relayed
// ones untrusted (issue 8, row 1: messages of the wrong shape once ended tincan-cli).
#include <gtest/gtest.h>

#include "session/signal_message.hpp"

using namespace tincan;
namespace sig = tincan::session::signal;

namespace {

std::string malformed(std::string_view text) {
    auto m = sig::decode(text);
    const auto* bad = std::get_if<sig::Malformed>(&m);
    return bad ? bad->why : std::string();
}

sig::Candidate candidate(std::string_view text) {
    auto m = sig::decode(text);
    const auto* c = std::get_if<sig::Candidate>(&m);
    EXPECT_NE(c, nullptr) << text;
    return c ? *c : sig::Candidate{};
}

constexpr const char* kLine = "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host";

}  // namespace

TEST(SignalMessage, ServerFrames) {
    auto m = sig::decode(R"({"type":"welcome","peers":1})");
    ASSERT_TRUE(std::holds_alternative<sig::Welcome>(m));
    EXPECT_EQ(std::get<sig::Welcome>(m).peers, 1);
    EXPECT_TRUE(std::holds_alternative<sig::PeerJoined>(sig::decode(R"({"type":"peer-joined"})")));
    EXPECT_TRUE(std::holds_alternative<sig::PeerLeft>(sig::decode(R"({"type":"peer-left"})")));
    m = sig::decode(R"({"type":"error","reason":"room full"})");
    ASSERT_TRUE(std::holds_alternative<sig::ServerError>(m));
    EXPECT_EQ(std::get<sig::ServerError>(m).reason, "room full");
    m = sig::decode(R"({"type":"error","reason":7})");
    ASSERT_TRUE(std::holds_alternative<sig::ServerError>(m));
    EXPECT_EQ(std::get<sig::ServerError>(m).reason, "error");
}

TEST(SignalMessage, Descriptions) {
    auto m = sig::decode(R"({"type":"offer","sdp":"v=0\r\n"})");
    ASSERT_TRUE(std::holds_alternative<sig::Description>(m));
    EXPECT_EQ(std::get<sig::Description>(m).type, SdpType::Offer);
    EXPECT_EQ(std::get<sig::Description>(m).sdp, "v=0\r\n");
    m = sig::decode(R"({"type":"answer","sdp":""})");
    ASSERT_TRUE(std::holds_alternative<sig::Description>(m));
    EXPECT_EQ(std::get<sig::Description>(m).type, SdpType::Answer);
    EXPECT_EQ(malformed(R"({"type":"offer"})"), "'offer' without an sdp string");
    EXPECT_EQ(malformed(R"({"type":"answer","sdp":null})"), "'answer' without an sdp string");
    EXPECT_EQ(malformed(R"({"type":"offer","sdp":["v=0"]})"), "'offer' without an sdp string");
}

TEST(SignalMessage, CandidatesInEveryW3CShape) {
    auto c = candidate(std::string(R"({"type":"candidate","candidate":{"candidate":")") + kLine +
                       R"(","sdpMid":"1","sdpMLineIndex":1}})");
    ASSERT_TRUE(c.candidate);
    EXPECT_EQ(c.candidate->candidate, kLine);
    EXPECT_EQ(c.candidate->sdpMid, "1");
    EXPECT_EQ(c.candidate->sdpMLineIndex, 1);
    // W3C: sdpMid and sdpMLineIndex may be null or absent.
    c = candidate(std::string(R"({"type":"candidate","candidate":{"candidate":")") + kLine +
                  R"(","sdpMid":null,"sdpMLineIndex":0}})");
    ASSERT_TRUE(c.candidate);
    EXPECT_EQ(c.candidate->sdpMid, "0");
    c = candidate(std::string(R"({"type":"candidate","candidate":{"candidate":")") + kLine +
                  R"(","sdpMLineIndex":null}})");
    ASSERT_TRUE(c.candidate);
    EXPECT_EQ(c.candidate->sdpMLineIndex, 0);
    // End of candidates: null, absent, or an empty candidate string (browsers).
    EXPECT_FALSE(candidate(R"({"type":"candidate","candidate":null})").candidate);
    EXPECT_FALSE(candidate(R"({"type":"candidate"})").candidate);
    EXPECT_FALSE(
        candidate(R"({"type":"candidate","candidate":{"candidate":"","sdpMid":"0"}})").candidate);
}

// Issue 8, row 1: each of these ended tincan-cli with "internal error: [json.exception...]".
TEST(SignalMessage, WrongShapesAreMalformedNeverThrown) {
    const std::string head =
        std::string(R"({"type":"candidate","candidate":{"candidate":")") + kLine;
    EXPECT_EQ(malformed(head + R"(","sdpMid":0}})"), "sdpMid is neither a string nor null");
    EXPECT_EQ(malformed(head + R"(","sdpMLineIndex":"0"}})"),
              "sdpMLineIndex is neither an unsigned short nor null");
    EXPECT_EQ(malformed(head + R"(","sdpMLineIndex":-1}})"),
              "sdpMLineIndex is neither an unsigned short nor null");
    EXPECT_EQ(malformed(head + R"(","sdpMLineIndex":70000}})"),
              "sdpMLineIndex is neither an unsigned short nor null");
    EXPECT_EQ(malformed(head + R"(","sdpMLineIndex":0.5}})"),
              "sdpMLineIndex is neither an unsigned short nor null");
    EXPECT_EQ(malformed(R"({"type":"welcome","peers":"one"})"),
              "'welcome' without a peer count of 0 or 1");
    EXPECT_EQ(malformed(R"({"type":"welcome","peers":2})"),
              "'welcome' without a peer count of 0 or 1");
    EXPECT_EQ(malformed(R"({"type":"candidate","candidate":5})"),
              "'candidate' is neither an object nor null");
    EXPECT_EQ(malformed(R"({"type":"candidate","candidate":{"candidate":null}})"),
              "candidate without a string");
    EXPECT_EQ(malformed(R"({"type":7})"), "no string 'type'");
    EXPECT_EQ(malformed(R"({"sdp":"v=0"})"), "no string 'type'");
    EXPECT_EQ(malformed(R"([1,2])"), "not a JSON object");
    EXPECT_EQ(malformed(R"("offer")"), "not a JSON object");
    EXPECT_EQ(malformed(R"({"type":"offer","sdp":)"), "not JSON");
    EXPECT_EQ(malformed(""), "not JSON");
    EXPECT_EQ(malformed("\xff\xfe"), "not JSON");
}

TEST(SignalMessage, ByeAndUnknownTypes) {
    EXPECT_TRUE(std::holds_alternative<sig::Bye>(sig::decode(R"({"type":"bye"})")));
    auto m = sig::decode(R"({"type":"media","video":false})");
    ASSERT_TRUE(std::holds_alternative<sig::Unknown>(m));
    EXPECT_EQ(std::get<sig::Unknown>(m).type, "media");
}
