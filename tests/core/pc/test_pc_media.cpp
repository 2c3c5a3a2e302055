// Media through two public-API PeerConnections over loopback: tracks negotiated with Opus and
// VP8, RTP payloads sent on one side arrive on the other through SRTP, stats name them.
#include <gtest/gtest.h>

#include "pc_pair.hpp"

using namespace tincan;
using namespace tincan::test;

namespace {

struct Received {
    std::vector<std::string> payloads;
    std::vector<RtpCodec> negotiated;
    int keyframeRequests = 0;
};

OutgoingFrame frame(uint32_t ts, const std::string& text) {
    OutgoingFrame f;
    f.packets.push_back({ts, true, Bytes(text.begin(), text.end())});
    f.captureTime = std::chrono::steady_clock::now();
    return f;
}

}  // namespace

TEST(PeerConnectionMedia, TracksBothWaysCarryPayloadsAndShowInStats) {
    Pair pair;
    Received got[2];
    for (int i = 0; i < 2; ++i) {
        pair.side[i].onRemoteTrack = [&pair, &got, i](std::shared_ptr<Track> t) {
            t->setCallbacks({.onNegotiated = {},
                             .onPacket =
                                 [&pair, &got, i, kind = t->kind()](const RtpPacketIn& p) {
                                     std::lock_guard lock(pair.waiter.mutex());
                                     got[i].payloads.push_back(std::string(toString(kind)) + ":" +
                                                               std::string(asString(p.payload)));
                                     pair.waiter.notify();
                                 },
                             .onKeyframeRequest =
                                 [&pair, &got, i] {
                                     std::lock_guard lock(pair.waiter.mutex());
                                     got[i].keyframeRequests++;
                                     pair.waiter.notify();
                                 }});
        };
    }
    std::shared_ptr<Track> video[2], audio[2];
    for (int i = 0; i < 2; ++i) {
        auto v = pair.side[i].pc->addTrack(MediaKind::Video);
        auto a = pair.side[i].pc->addTrack(MediaKind::Audio);
        ASSERT_TRUE(v && a);
        video[i] = *v;
        audio[i] = *a;
        video[i]->setCallbacks({.onKeyframeRequest = [&pair, &got, i] {
            std::lock_guard lock(pair.waiter.mutex());
            got[i].keyframeRequests++;
            pair.waiter.notify();
        }});
    }
    pair.negotiate();
    ASSERT_TRUE(pair.waitConnected());
    ASSERT_TRUE(pair.waiter.wait([&] {
        return pair.side[0].remoteTracks.size() == 2 && pair.side[1].remoteTracks.size() == 2;
    }));
    // The answerer's tracks took the offerer's sections: two m-lines of media, both two-way.
    auto t = pair.side[1].pc->transceivers();
    ASSERT_EQ(t.size(), 2u);
    for (const auto& x : t) EXPECT_EQ(x.currentDirection, Direction::SendRecv) << x.mid;
    ASSERT_TRUE(video[0]->codec());
    EXPECT_EQ(video[0]->codec()->name, "VP8");
    EXPECT_EQ(audio[1]->codec()->name, "opus");
    EXPECT_TRUE(video[1]->sending());
    EXPECT_EQ(pair.side[0].remoteTracks[0], video[0]) << "one Track per transceiver, both ways";

    // Keys arrive with DTLS; send until packets flow (the first may precede SRTP).
    ASSERT_TRUE(pair.waiter.wait(
        [&] {
            pair.waiter.mutex().unlock();
            video[0]->sendFrame(frame(1, "v-from-0"));
            audio[0]->sendFrame(frame(1, "a-from-0"));
            video[1]->sendFrame(frame(1, "v-from-1"));
            audio[1]->sendFrame(frame(1, "a-from-1"));
            std::this_thread::sleep_for(20ms);
            pair.waiter.mutex().lock();
            auto has = [](const std::vector<std::string>& v, const std::string& s) {
                return std::find(v.begin(), v.end(), s) != v.end();
            };
            return has(got[1].payloads, "video:v-from-0") &&
                   has(got[1].payloads, "audio:a-from-0") &&
                   has(got[0].payloads, "video:v-from-1") && has(got[0].payloads, "audio:a-from-1");
        },
        10s));

    pair.side[1].remoteTracks[0]->requestKeyframe();
    EXPECT_TRUE(pair.waiter.wait([&] { return got[0].keyframeRequests >= 1; }, 5s));

    auto stats = pair.side[1].pc->getStats();
    ASSERT_EQ(stats.inboundRtp.size(), 2u);
    ASSERT_EQ(stats.outboundRtp.size(), 2u);
    bool videoIn = false;
    for (const auto& in : stats.inboundRtp) {
        EXPECT_GT(in.packetsReceived, 0u);
        videoIn |= in.kind == "video";
    }
    EXPECT_TRUE(videoIn);
    EXPECT_TRUE(stats.transport->srtpCipher);
    auto json = toJson(stats);
    EXPECT_NE(json.find("\"inbound-rtp\""), std::string::npos);
    EXPECT_NE(json.find("\"video/VP8\""), std::string::npos);
}
