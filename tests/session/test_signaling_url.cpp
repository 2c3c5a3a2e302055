// SignalingClient::validateUrl: a bad --signal is one plain line before anything connects
// (issue 8, row 3: a port out of range once hung tincan-cli, then printed QUrl's own diagnostic).
#include <gtest/gtest.h>

#include "session/signaling_client.hpp"

using tincan::session::SignalingClient;

namespace {

constexpr const char* kPortWords = "the port must be a number from 1 to 65535";

}  // namespace

TEST(SignalingUrl, GoodUrlsPass) {
    for (const char* url : {"ws://127.0.0.1:8080/r1", "wss://signal.example.org/room_A-1",
                            "ws://[::1]:65535/r", "ws://localhost:1/r"})
        EXPECT_EQ(SignalingClient::validateUrl(url), "") << url;
}

TEST(SignalingUrl, PortOutOfRangeIsSaidInPlainWords) {
    for (const char* url :
         {"ws://127.0.0.1:99999/r1", "ws://127.0.0.1:65536/r1", "ws://127.0.0.1:0/r1",
          "ws://[::1]:70000/r", "ws://host:/r", "ws://host:http/r", "ws://host:12ab/r"}) {
        const std::string why = SignalingClient::validateUrl(url);
        EXPECT_EQ(why, "bad --signal '" + std::string(url) + "': " + kPortWords) << url;
    }
}

TEST(SignalingUrl, OtherMistakesNameWhatIsExpected) {
    EXPECT_NE(SignalingClient::validateUrl("abc").find("expected ws://HOST:PORT/ROOM"),
              std::string::npos);
    EXPECT_NE(SignalingClient::validateUrl("http://h:1/r").find("expected ws://HOST:PORT/ROOM"),
              std::string::npos);
    EXPECT_NE(SignalingClient::validateUrl("ws://h:1/r?x=1").find("expected"), std::string::npos);
    const std::string noHost = SignalingClient::validateUrl("ws://:8080/r");
    EXPECT_EQ(noHost.rfind("bad --signal 'ws://:8080/r': ", 0), 0u) << noHost;
    EXPECT_EQ(noHost.find(kPortWords), std::string::npos) << noHost;
    // User info is not a port: QUrl judges it (and the room check has already passed).
    EXPECT_EQ(SignalingClient::validateUrl("ws://user:pw@host:8080/r"), "");
}
