// Media through two public-API PeerConnections over loopback: tracks negotiated with Opus and
// VP8, RTP payloads sent on one side arrive on the other through SRTP, stats name them.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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

    // The peer's Sender Reports give each received track its clock mapping (lip sync).
    std::optional<RemoteSenderClock> clock;
    for (int i = 0; i < 300 && !clock; ++i) {
        std::this_thread::sleep_for(10ms);
        clock = pair.side[1].remoteTracks[0]->remoteSenderClock();
    }
    ASSERT_TRUE(clock);
    EXPECT_NE(clock->ssrc, 0u);
    EXPECT_NE(clock->ntpTime, 0u);

    // The capture side's figures become the outbound streams' media-source (W3C).
    video[1]->reportSourceStats({.width = 640, .height = 480, .frames = 90, .framesPerSecond = 30});
    audio[1]->reportSourceStats(
        {.audioLevel = 0.25, .totalAudioEnergy = 0.125, .totalSamplesDuration = 2.0});
    auto stats = pair.side[1].pc->getStats();
    ASSERT_EQ(stats.inboundRtp.size(), 2u);
    ASSERT_EQ(stats.outboundRtp.size(), 2u);
    ASSERT_EQ(stats.mediaSources.size(), 2u);
    for (const auto& out : stats.outboundRtp) {
        ASSERT_TRUE(out.mediaSourceId) << out.kind;
        auto source =
            std::find_if(stats.mediaSources.begin(), stats.mediaSources.end(),
                         [&](const MediaSourceStats& m) { return m.id == *out.mediaSourceId; });
        ASSERT_NE(source, stats.mediaSources.end());
        EXPECT_EQ(source->kind, out.kind);
        if (out.kind == "video") {
            EXPECT_EQ(source->width, 640u);
            EXPECT_EQ(source->frames, 90u);
        } else {
            EXPECT_EQ(source->audioLevel, 0.25);
            EXPECT_EQ(source->totalSamplesDuration, 2.0);
        }
    }
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
    EXPECT_NE(json.find("\"media-source\""), std::string::npos);
}

// Issue "hostile input", row 7: datagrams that look like DTLS, RTP or nothing at all, from an
// address that is no candidate pair, are dropped — and each drop shows in getStats().
TEST(PeerConnectionMedia, ForeignDatagramsAreDroppedAndCountedInStats) {
    Pair pair;
    auto video = pair.side[0].pc->addTrack(MediaKind::Video);
    ASSERT_TRUE(video);
    pair.negotiate();
    ASSERT_TRUE(pair.waitConnected());
    auto before = pair.side[1].pc->getStats();
    const auto* sel = before.selectedPair();
    ASSERT_NE(sel, nullptr);
    const auto* local = before.candidate(sel->localCandidateId);
    ASSERT_NE(local, nullptr);
    ASSERT_EQ(local->protocol, "udp");
    // A stranger on loopback (a socket of our own: no pair has its address).
    int fd =
        ::socket(local->address.find(':') == std::string::npos ? AF_INET : AF_INET6, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_storage to{};
    socklen_t toLen = 0;
    if (local->address.find(':') == std::string::npos) {
        auto* a = reinterpret_cast<sockaddr_in*>(&to);
        a->sin_family = AF_INET;
        a->sin_port = htons(local->port);
        inet_pton(AF_INET, local->address.c_str(), &a->sin_addr);
        toLen = sizeof(sockaddr_in);
    } else {
        auto* a = reinterpret_cast<sockaddr_in6*>(&to);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(local->port);
        inet_pton(AF_INET6, local->address.c_str(), &a->sin6_addr);
        toLen = sizeof(sockaddr_in6);
    }
    std::vector<Bytes> kinds = {
        Bytes{22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0},  // a DTLS handshake record header
        Bytes(60, 0x80),                                      // RTP version 2
        Bytes{0xFF, 0x13, 0x37, 0x00, 0x42},                  // no RFC 7983 range at all
    };
    kinds[1][1] = 96;
    for (const auto& d : kinds)
        ASSERT_EQ(::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), toLen),
                  ssize_t(d.size()));
    ::close(fd);
    uint64_t want = before.transport->foreignPacketsDropped + kinds.size();
    uint64_t got = 0;
    for (int i = 0; i < 100 && got < want; ++i) {
        std::this_thread::sleep_for(10ms);
        got = pair.side[1].pc->getStats().transport->foreignPacketsDropped;
    }
    EXPECT_EQ(got, want);
    auto json = toJson(pair.side[1].pc->getStats());
    for (const char* counter :
         {"foreignPacketsDropped", "unknownPacketsDropped", "rtpPacketsDropped",
          "dtlsRecordsDropped", "stunMalformedDropped", "srtpDropped", "rtpMalformedDropped",
          "rtpUnknownSsrcDropped", "rtcpMalformedDropped"})
        EXPECT_NE(json.find(counter), std::string::npos) << counter;
}

// Renegotiation mid-call: video added to an audio call takes a new m-section and flows, while
// audio goes on; then the video is turned inactive and the sender stops being able to send.
TEST(PeerConnectionMedia, VideoAddedToAnAudioCallThenTurnedOff) {
    Pair pair;
    std::vector<std::string> got;
    pair.side[1].onRemoteTrack = [&pair, &got](std::shared_ptr<Track> t) {
        t->setCallbacks({.onPacket = [&pair, &got, kind = t->kind()](const RtpPacketIn& p) {
            std::lock_guard lock(pair.waiter.mutex());
            got.push_back(std::string(toString(kind)) + ":" + std::string(asString(p.payload)));
            pair.waiter.notify();
        }});
    };
    auto audio = *pair.side[0].pc->addTrack(MediaKind::Audio);
    pair.negotiate();
    ASSERT_TRUE(pair.waitConnected());
    auto sendUntil = [&](const std::shared_ptr<Track>& track, const std::string& what) {
        return pair.waiter.wait(
            [&] {
                pair.waiter.mutex().unlock();
                track->sendFrame(frame(1, what));
                std::this_thread::sleep_for(20ms);
                pair.waiter.mutex().lock();
                return std::find(got.begin(), got.end(),
                                 std::string(toString(track->kind())) + ":" + what) != got.end();
            },
            10s);
    };
    ASSERT_TRUE(sendUntil(audio, "before"));
    auto video = *pair.side[0].pc->addTrack(MediaKind::Video);
    EXPECT_FALSE(video->sending()) << "not negotiated yet";
    pair.negotiate();
    ASSERT_EQ(pair.side[0].pc->transceivers().size(), 2u);
    ASSERT_TRUE(sendUntil(video, "added"));
    ASSERT_TRUE(sendUntil(audio, "still"));
    EXPECT_EQ(video->mid(), "2") << "after the data section (0) and audio (1)";

    // W3C removeTrack: we stop sending, the section stays (receive-only on our side).
    ASSERT_TRUE(pair.side[0].pc->removeTrack(video));
    EXPECT_EQ(video->direction(), Direction::RecvOnly);
    EXPECT_FALSE(pair.side[1].pc->removeTrack(video)) << "not a track of that connection";
    std::this_thread::sleep_for(50ms);  // the direction is applied on the network thread
    pair.negotiate();
    EXPECT_EQ(video->currentDirection(), Direction::Inactive) << "the peer does not send either";
    ASSERT_EQ(pair.side[0].pc->transceivers().size(), 2u);
    EXPECT_FALSE(video->sending());
    EXPECT_FALSE(video->sendFrame(frame(2, "off")));
    ASSERT_TRUE(sendUntil(audio, "after"));
}

// docs/API.md, "Lifetimes": a Track whose callbacks capture the track itself (as the RTP
// reflector in tests/interop does through its reflector object) is freed once the connection
// closes or is dropped: an ended track fires nothing more and lets its callbacks go. Before,
// the callbacks stayed, the cycle kept the track (and the connection's control block) alive,
// and LeakSanitizer reported it at exit of tincan-rtp-reflector.
TEST(PeerConnectionMedia, TrackWhoseCallbacksCaptureItIsFreedOnCloseAndOnDrop) {
    Pair p;
    auto selfCapturing = [](std::shared_ptr<PeerConnection>& pc, std::weak_ptr<int>& sentinel) {
        auto track = *pc->addTrack(MediaKind::Audio);
        auto held = std::make_shared<int>(1);
        sentinel = held;
        Track::Callbacks cb;
        cb.onPacket = [track, held](const RtpPacketIn&) { (void)track->mid(); };
        track->setCallbacks(cb);
        return std::weak_ptr<Track>(track);
    };
    std::weak_ptr<int> closedHeld, droppedHeld;
    auto closedOne = selfCapturing(p.side[0].pc, closedHeld);
    auto droppedOne = selfCapturing(p.side[1].pc, droppedHeld);
    auto freed = [](const auto& w) {
        for (int i = 0; i < 500 && !w.expired(); ++i) std::this_thread::sleep_for(10ms);
        return w.expired();
    };
    ASSERT_FALSE(closedHeld.expired());
    p.side[0].pc->close();
    EXPECT_TRUE(freed(closedHeld)) << "the callbacks of an ended track are released";
    // An ended track takes no new callbacks either.
    if (auto t = closedOne.lock()) {
        auto late = std::make_shared<int>(2);
        std::weak_ptr<int> lateHeld = late;
        Track::Callbacks cb;
        cb.onEnded = [t, late] {};
        t->setCallbacks(std::move(cb));
        late.reset();
        EXPECT_TRUE(lateHeld.expired());
    }
    p.side[0].pc.reset();
    EXPECT_TRUE(freed(closedOne));
    ASSERT_FALSE(droppedOne.expired());
    p.side[1].pc.reset();  // no close(): the last reference goes
    EXPECT_TRUE(freed(droppedOne));
    EXPECT_TRUE(droppedHeld.expired());
}
