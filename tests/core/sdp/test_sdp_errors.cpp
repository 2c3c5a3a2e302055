// Malformed descriptions: each is rejected with the line it failed on and why.
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/core/sdp/sdp_test_util.hpp"

using namespace tincan;
using namespace tincan::sdp;
using namespace tincan::sdp::test;

namespace {

// A valid data channel description (lines 1-12) to which a test appends or in which it
// replaces lines.
std::vector<std::string> baseLines() {
    return {
        "v=0",                                               // 1
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",        // 2
        "s=-",                                               // 3
        "t=0 0",                                             // 4
        "a=group:BUNDLE 0",                                  // 5
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",  // 6
        "c=IN IP4 0.0.0.0",                                  // 7
        "a=ice-ufrag:JIfa",                                  // 8
        "a=ice-pwd:o46Mbo82bMa7LE41zk8zpCTP",                // 9
        "a=fingerprint:sha-256 E5:25:06:8F:57:DD:C5:1B:C7:69:06:E6:D8:4D:38:6D:A3:AF:74:99:"
        "76:E7:54:EC:5F:B8:ED:1A:DA:74:93:CB",  // 10
        "a=setup:actpass",                      // 11
        "a=mid:0",                              // 12
    };
}

std::string join(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += l + "\r\n";
    return s;
}

// The base description with line `n` (1-based) replaced.
std::string withLine(size_t n, std::string line) {
    auto lines = baseLines();
    lines.at(n - 1) = std::move(line);
    return join(lines);
}

// The base description with `line` appended as line 13.
std::string withExtra(std::string line) {
    auto lines = baseLines();
    lines.push_back(std::move(line));
    return join(lines);
}

struct Case {
    std::string sdp;
    size_t line;
    std::string reason;
};

// Line `n` (1-based) of `sdp` as the error quotes it: without its CR, cut at 80 characters,
// control characters as '?'; "" past the end.
std::string quotedLine(const std::string& sdp, size_t n) {
    std::istringstream in(sdp);
    std::string line;
    for (size_t i = 0; i < n; ++i)
        if (!std::getline(in, line)) return "";
    if (!line.empty() && line.back() == '\r') line.pop_back();
    line = line.substr(0, 80);
    for (char& ch : line)
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F) ch = '?';
    return line;
}

// The message names the line it failed on, quotes that line and gives the reason.
void expectError(const Case& c) {
    std::string expected;
    if (c.line == 0)
        expected = "SDP: " + c.reason;
    else if (std::string text = quotedLine(c.sdp, c.line); text.empty())
        expected = "SDP line " + std::to_string(c.line) + ": " + c.reason;
    else
        expected = "SDP line " + std::to_string(c.line) + " (" + text + "): " + c.reason;
    EXPECT_EQ(parseError(c.sdp), expected);
}

}  // namespace

TEST(SdpErrors, BaseIsValid) {
    auto d = parseOk(join(baseLines()));
    EXPECT_EQ(d.media.size(), 1u);
}

TEST(SdpErrors, MessageFormat) {
    EXPECT_EQ(parseError(withLine(10, "a=fingerprint:sha-256 ZZ")),
              "SDP line 10 (a=fingerprint:sha-256 ZZ): invalid hex digest");

    // The quoted line is cut at 80 characters.
    const std::string longLine =
        "a=candidate:1 1 udp 2130706431 192.0.2.1 99999 typ host " + std::string(60, 'x');
    ASSERT_GT(longLine.size(), 80u);
    EXPECT_EQ(parseError(withExtra(longLine)),
              "SDP line 13 (" + longLine.substr(0, 80) + "): invalid port '99999'");

    // Control characters in the quoted line are shown as '?': the message stays one line.
    EXPECT_EQ(parseError(withExtra("a=foo\rbar")),
              "SDP line 13 (a=foo?bar): control character inside a line");

    // Not about one line; about a line that is missing (nothing to quote).
    EXPECT_EQ(parseError(""), "SDP: empty SDP");
    EXPECT_EQ(parseError("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n"),
              "SDP line 4: missing t= line");
}

TEST(SdpErrors, Structure) {
    expectError({"", 0, "empty SDP"});
    expectError({withLine(1, "v=1"), 1, "the first line must be v=0"});
    expectError({"\r\n" + join(baseLines()), 1, "the first line must be v=0"});
    expectError({withLine(2, "s=-"), 2, "missing o= line"});
    expectError({withLine(3, "t=0 0"), 3, "missing s= line"});
    expectError({withLine(4, "a=ice-lite"), 4, "missing t= line"});
    expectError({"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n", 4, "missing t= line"});
    expectError({"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n", 3, "missing s= line"});
    expectError({"v=0\n", 2, "missing o= line"});
    expectError({withExtra("bogus"), 13, "expected a <type>=<value> line"});
    expectError({withExtra(" a=mid:1"), 13, "expected a <type>=<value> line"});
    expectError({withExtra("A=foo"), 13, "expected a <type>=<value> line"});
    expectError({withExtra("x=foo"), 13, "unknown line type 'x'"});
    expectError({withExtra("t=0 0"), 13, "unexpected t= line in a media section"});
    expectError({withExtra(std::string("a=mid\0x", 7)), 13, "control character inside a line"});
    expectError({withExtra("a=foo\rbar"), 13, "control character inside a line"});
    expectError({withLine(2, "o=- 1 1 IN IP4"), 2, "o= needs 6 fields"});
    expectError({withLine(2, "o=- x 1 IN IP4 0.0.0.0"), 2, "invalid session id"});
    expectError(
        {withLine(2, "o=- 1 99999999999999999999 IN IP4 0.0.0.0"), 2, "invalid session version"});
    expectError({withLine(2, "o=- 1 1 ATM IP4 0.0.0.0"), 2, "unsupported network type 'ATM'"});
    expectError({withLine(4, "t=0"), 4, "invalid t= line"});
    expectError({withLine(7, "c=IN IP5 0.0.0.0"), 7, "unsupported address type 'IP5'"});
    expectError({withExtra("c=IN IP4 0.0.0.0"), 13, "duplicate c= line"});
    expectError({withExtra("b=AS"), 13, "invalid b= line"});
    // A BUNDLE group must name m-sections that exist (RFC 8843 §7).
    expectError({withLine(5, "a=group:BUNDLE 0 1"), 5, "BUNDLE group names unknown mid '1'"});
    expectError({withLine(5, "a=group:BUNDLE 0 0"), 5, "duplicate mid '0' in BUNDLE group"});
}

TEST(SdpErrors, MediaLines) {
    expectError({withLine(6, "m=application 9 UDP/DTLS/SCTP"), 6,
                 "m= needs a media type, port, protocol and formats"});
    expectError({withLine(6, "m=application 65536 UDP/DTLS/SCTP webrtc-datachannel"), 6,
                 "invalid port '65536'"});
    expectError(
        {withLine(6, "m=application -9 UDP/DTLS/SCTP webrtc-datachannel"), 6, "invalid port '-9'"});
    expectError({withLine(6, "m=application 9/0 UDP/DTLS/SCTP webrtc-datachannel"), 6,
                 "invalid port '9/0'"});
    expectError({withLine(6, "m=application 9 UDP//SCTP webrtc-datachannel"), 6,
                 "invalid protocol 'UDP//SCTP'"});
    expectError({withLine(6, "m=application 9 UDP/DTLS/SCTP; webrtc-datachannel"), 6,
                 "invalid protocol 'UDP/DTLS/SCTP;'"});
    expectError(
        {withLine(6, "m=audio 9 UDP/TLS/RTP/SAVPF 111 opus"), 6, "invalid payload type 'opus'"});
    expectError({withLine(6, "m=audio 9 UDP/TLS/RTP/SAVPF 128"), 6, "invalid payload type '128'"});
    expectError(
        {withLine(6, "m=a:b 9 UDP/DTLS/SCTP webrtc-datachannel"), 6, "invalid media type 'a:b'"});
}

TEST(SdpErrors, TransportAttributes) {
    expectError({withLine(10, "a=fingerprint:sha-256"), 10, "missing fingerprint digest"});
    expectError({withLine(10, "a=fingerprint:sha-256 E5:25:0"), 10, "invalid hex digest"});
    expectError({withLine(10, "a=fingerprint:sha-256 E5-25"), 10, "invalid hex digest"});
    expectError({withLine(10, "a=fingerprint:sha-256 E5:25:06"), 10,
                 "sha-256 digest must be 32 bytes, got 3"});
    expectError(
        {withLine(10, "a=fingerprint:SHA-1 E5:25:06"), 10, "sha-1 digest must be 20 bytes, got 3"});
    expectError({withLine(11, "a=setup:client"), 11, "invalid setup value 'client'"});
    expectError({withExtra("a=setup:active"), 13, "duplicate a=setup"});
    expectError({withLine(8, "a=ice-ufrag:abc"), 8, "ice-ufrag must be 4-256 ice-chars"});
    expectError({withLine(8, "a=ice-ufrag:ab-cd"), 8, "ice-ufrag must be 4-256 ice-chars"});
    expectError({withLine(9, "a=ice-pwd:tooshort"), 9, "ice-pwd must be 22-256 ice-chars"});
    expectError({withExtra("a=ice-ufrag:JIfa"), 13, "duplicate a=ice-ufrag"});
    expectError({withExtra("a=mid:1"), 13, "duplicate a=mid"});
    expectError({withLine(12, "a=mid:a b"), 12, "invalid mid 'a b'"});
    expectError({withLine(12, "a=mid"), 12, "a=mid needs a value"});
    expectError({join({"v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0",
                       "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=mid:0",
                       "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=mid:0"}),
                 8, "duplicate mid '0'"});
    // Candidates are checked by ice::parseCandidate, whose reason is reported.
    expectError({withExtra("a=candidate:1 1 udp 2130706431 192.0.2.1 typ host"), 13,
                 "a candidate needs at least 8 fields"});
    expectError({withExtra("a=candidate:1 1 sctp 2130706431 192.0.2.1 5000 typ host"), 13,
                 "unsupported transport 'sctp'"});
    expectError({withExtra("a=candidate:1 1 udp 2130706431 host.example 5000 typ host"), 13,
                 "invalid connection address 'host.example'"});
    expectError({withExtra("a=candidate:1 1 udp 2130706431 192.0.2.1 5000 typ magic"), 13,
                 "unknown candidate type 'magic'"});
}

TEST(SdpErrors, SctpAttributes) {
    expectError({withExtra("a=sctp-port:70000"), 13, "invalid sctp-port '70000'"});
    expectError({withExtra("a=sctp-port:0"), 13, "invalid sctp-port '0'"});
    expectError({withExtra("a=sctp-port:+5000"), 13, "invalid sctp-port '+5000'"});
    expectError(
        {withExtra("a=max-message-size:4294967296"), 13, "invalid max-message-size '4294967296'"});
    expectError({withExtra("a=max-message-size:-1"), 13, "invalid max-message-size '-1'"});
    expectError({withExtra("a=max-message-size: 1"), 13, "invalid max-message-size ' 1'"});
    auto lines = baseLines();
    lines.push_back("a=sctp-port:5000");
    lines.push_back("a=sctp-port:5000");
    expectError({join(lines), 14, "duplicate a=sctp-port"});
}

TEST(SdpErrors, RtpAttributes) {
    expectError({withExtra("a=rtpmap:200 opus/48000/2"), 13, "invalid rtpmap payload type"});
    expectError({withExtra("a=rtpmap:111 opus"), 13, "invalid rtpmap"});
    expectError({withExtra("a=rtpmap:111 opus/fast"), 13, "invalid rtpmap"});
    expectError({withExtra("a=rtpmap:111 opus/48000/x"), 13, "invalid rtpmap channels"});
    auto lines = baseLines();
    lines.push_back("a=rtpmap:111 opus/48000/2");
    lines.push_back("a=rtpmap:111 opus/48000/2");
    expectError({join(lines), 14, "duplicate a=rtpmap for payload type 111"});
    expectError({withExtra("a=fmtp:300 x=1"), 13, "invalid fmtp payload type '300'"});
    expectError({withExtra("a=rtcp-fb:x nack"), 13, "invalid rtcp-fb payload type 'x'"});
    expectError({withExtra("a=rtcp-fb:96"), 13, "missing rtcp-fb type"});
    expectError({withExtra("a=extmap:0 urn:x"), 13, "invalid extmap id '0'"});
    expectError({withExtra("a=extmap:1/both urn:x"), 13, "invalid extmap direction 'both'"});
    expectError({withExtra("a=extmap:1"), 13, "missing extmap URI"});
    expectError({withExtra("a=ssrc:x cname:y"), 13, "invalid ssrc"});
    expectError({withExtra("a=ssrc:1"), 13, "missing ssrc attribute"});
    expectError({withExtra("a=ssrc-group:FID 1 x"), 13, "invalid ssrc 'x'"});
    expectError({withExtra("a=msid:a b c"), 13, "invalid msid"});
    lines = baseLines();
    lines.push_back("a=sendonly");
    lines.push_back("a=recvonly");
    expectError({join(lines), 14, "more than one direction attribute"});
}

TEST(SdpErrors, Limits) {
    std::string big = join(baseLines());
    while (big.size() <= kMaxSdpBytes) big += "a=x-padding:" + std::string(100, 'p') + "\r\n";
    expectError({big, 0, "SDP is larger than 262144 bytes"});

    auto lines = baseLines();
    for (int i = 0; i < 64; ++i) lines.push_back("m=audio 0 UDP/TLS/RTP/SAVPF 0");
    // 1 data section + 63 audio ones are allowed; the 64th audio section is the 65th.
    expectError({join(lines), 12 + 64, "too many media sections (max 64)"});

    lines = baseLines();
    for (int i = 0; i < 1001; ++i)
        lines.push_back("a=candidate:" + std::to_string(i) + " 1 udp 2130706431 192.0.2.1 " +
                        std::to_string(1000 + i) + " typ host");
    expectError({join(lines), 12 + 1001, "too many candidates (max 1000)"});
}

TEST(SdpErrors, TolerantWhereBrowsersAre) {
    // Unknown attributes are kept, not errors; so are unknown fingerprint algorithms.
    auto d = parseOk(withExtra("a=x-google-flag:conference"));
    EXPECT_EQ(d.media[0].extraAttributes, std::vector<std::string>{"a=x-google-flag:conference"});
    d = parseOk(withExtra("a=fingerprint:x-hash-2000 01:02:03"));
    ASSERT_EQ(d.media[0].additionalFingerprints.size(), 1u);
    EXPECT_EQ(d.media[0].additionalFingerprints[0].algorithm, "x-hash-2000");
    // Lower-case hex and upper-case algorithm names, as some stacks write them.
    d = parseOk(withLine(10,
                         "a=fingerprint:SHA-256 e5:25:06:8f:57:dd:c5:1b:c7:69:06:e6:d8:4d:"
                         "38:6d:a3:af:74:99:76:e7:54:ec:5f:b8:ed:1a:da:74:93:cb"));
    EXPECT_EQ(d.media[0].fingerprint->algorithm, "sha-256");
    EXPECT_EQ(d.media[0].fingerprint->digest[0], 0xE5);
    // Blank lines and a missing final newline.
    std::string text = join(baseLines());
    text.insert(text.find("m="), "\r\n");
    text.pop_back();
    text.pop_back();
    d = parseOk(text);
    EXPECT_EQ(d.media[0].mid, "0");
    // Firefox before 10x wrote a=sendrecv at session level too; it is kept verbatim.
    d = parseOk(withLine(5, "a=sendrecv"));
    EXPECT_EQ(d.extraSessionAttributes, std::vector<std::string>{"a=sendrecv"});
    // Legacy data channel formats and a=fmtp:webrtc-datachannel are kept.
    d = parseOk(withExtra("a=fmtp:webrtc-datachannel max-message-size=65536"));
    EXPECT_EQ(d.media[0].extraAttributes.size(), 1u);
    EXPECT_TRUE(d.media[0].fmtp.empty());
    // Tincan's a=x-tincan-sack-every: 2..255 is modelled and written back; anything else is an
    // unknown attribute, kept verbatim and meaning nothing (a bad value fails no negotiation).
    d = parseOk(withExtra("a=x-tincan-sack-every:8"));
    EXPECT_EQ(d.media[0].sackEvery, std::optional<uint8_t>(8));
    EXPECT_TRUE(d.media[0].extraAttributes.empty());
    EXPECT_NE(serialize(d).find("a=x-tincan-sack-every:8\r\n"), std::string::npos);
    EXPECT_EQ(parseOk(serialize(d)), d);
    for (const char* bad : {"a=x-tincan-sack-every:1", "a=x-tincan-sack-every:256",
                            "a=x-tincan-sack-every:eight", "a=x-tincan-sack-every"}) {
        d = parseOk(withExtra(bad));
        EXPECT_FALSE(d.media[0].sackEvery) << bad;
        EXPECT_EQ(d.media[0].extraAttributes, std::vector<std::string>{bad});
    }
    // i=, k=, r=, z= lines are accepted and dropped.
    d = parseOk(withExtra("i=the data channel"));
    EXPECT_EQ(d, parseOk(join(baseLines())));
    // A session without media is a valid (if useless) description.
    d = parseOk("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n");
    EXPECT_TRUE(d.media.empty());
}

TEST(SdpErrors, RejectedSectionsStayParseable) {
    // A re-offer by Chromium after removing a video track: the section stays, with port 0
    // (captured in a GStreamer forum thread; addresses replaced).
    auto d = parseOk(crlf({
        "v=0",
        "o=- 3299318957091646788 5 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "a=extmap-allow-mixed",
        "a=msid-semantic: WMS",
        "m=application 49028 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 203.0.113.60",
        "a=candidate:2570622895 1 udp 2113937151 68b118a2-6d46-43fb-a144-aabe6d76f04e.local "
        "62189 typ host generation 0 network-cost 999",
        "a=candidate:1426892169 1 udp 33562623 203.0.113.60 49028 typ relay raddr 198.51.100.4 "
        "rport 25539 generation 0 network-cost 999",
        "a=ice-ufrag:+lKv",
        "a=ice-pwd:H9gnSA7N/gydRr6CruQSOayu",
        "a=ice-options:trickle",
        "a=fingerprint:sha-256 34:98:D3:B3:F2:21:48:27:F4:C2:16:E4:DE:B9:39:EA:CF:E0:D3:15:E8:"
        "E4:A5:CE:B8:C4:EC:D3:95:5D:EB:A0",
        "a=setup:actpass",
        "a=mid:0",
        "a=sctp-port:5000",
        "a=max-message-size:262144",
        "m=video 0 UDP/TLS/RTP/SAVPF 98 99 100 101",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:+lKv",
        "a=ice-pwd:H9gnSA7N/gydRr6CruQSOayu",
        "a=ice-options:trickle",
        "a=fingerprint:sha-256 34:98:D3:B3:F2:21:48:27:F4:C2:16:E4:DE:B9:39:EA:CF:E0:D3:15:E8:"
        "E4:A5:CE:B8:C4:EC:D3:95:5D:EB:A0",
        "a=setup:actpass",
        "a=mid:1",
        "a=inactive",
        "a=rtcp-mux",
        "a=rtpmap:98 VP9/90000",
        "a=rtpmap:99 rtx/90000",
        "a=fmtp:99 apt=98",
        "a=rtpmap:100 VP9/90000",
        "a=rtpmap:101 rtx/90000",
        "a=fmtp:101 apt=100",
    }));
    ASSERT_EQ(d.media.size(), 2u);
    EXPECT_FALSE(d.media[0].rejected());
    EXPECT_TRUE(d.media[1].rejected());
    EXPECT_EQ(d.media[1].direction, Direction::Inactive);
    EXPECT_EQ(parseOk(serialize(d)), d);
}
