// The public PeerConnection API (include/tincan/peer_connection.hpp), two peers on loopback.
#include <random>
#include <thread>

#include "pc_pair.hpp"

using namespace tincan;
using namespace tincan::test;
using namespace std::chrono_literals;

TEST(PeerConnection, OfferAnswerDescribesADataChannelSession) {
    Pair p;
    auto offer = *p.side[0].pc->createOffer();
    EXPECT_EQ(offer.type, SdpType::Offer);
    for (const char* line : {"m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=setup:actpass",
                             "a=sctp-port:5000", "a=max-message-size:262144",
                             "a=ice-options:trickle", "a=fingerprint:sha-256 ", "a=group:BUNDLE 0"})
        EXPECT_NE(offer.sdp.find(line), std::string::npos) << line;
    EXPECT_FALSE(p.side[0].pc->createAnswer()) << "no answer without a remote offer";
    ASSERT_TRUE(p.side[0].pc->setLocalDescription(offer));
    EXPECT_EQ(p.side[0].pc->signalingState(), SignalingState::HaveLocalOffer);
    ASSERT_TRUE(p.side[1].pc->setRemoteDescription(offer));
    auto answer = *p.side[1].pc->createAnswer();
    EXPECT_NE(answer.sdp.find("a=setup:active"), std::string::npos);
    // Both offer fewer SACKs to another Tincan peer (Configuration::dataChannelSackEvery).
    EXPECT_NE(offer.sdp.find("a=x-tincan-sack-every:8\r\n"), std::string::npos);
    EXPECT_NE(answer.sdp.find("a=x-tincan-sack-every:8\r\n"), std::string::npos);
}

TEST(PeerConnection, RefusesMalformedDescriptionsWithAReason) {
    Pair p;
    auto err = p.side[0].pc->setRemoteDescription({SdpType::Offer, "v=0\r\nthis is not sdp\r\n"});
    ASSERT_FALSE(err);
    EXPECT_NE(err.message().find("line 2"), std::string::npos) << err.message();
    auto offer = *p.side[1].pc->createOffer();
    std::string noFingerprint = offer.sdp;
    auto pos = noFingerprint.find("a=fingerprint:");
    noFingerprint.erase(pos, noFingerprint.find("\r\n", pos) + 2 - pos);
    err = p.side[0].pc->setRemoteDescription({SdpType::Offer, noFingerprint});
    ASSERT_FALSE(err);
    EXPECT_NE(err.message().find("fingerprint"), std::string::npos) << err.message();
    EXPECT_EQ(p.side[0].pc->signalingState(), SignalingState::Stable);
}

TEST(PeerConnection, GlareRollsBackThePoliteOffer) {
    Pair p;
    auto mine = *p.side[0].pc->createOffer();
    ASSERT_TRUE(p.side[0].pc->setLocalDescription(mine));
    auto theirs = *p.side[1].pc->createOffer();
    ASSERT_TRUE(p.side[1].pc->setLocalDescription(theirs));
    // Side 0 is polite: applying the remote offer rolls its own back.
    ASSERT_TRUE(p.side[0].pc->setRemoteDescription(theirs));
    EXPECT_EQ(p.side[0].pc->signalingState(), SignalingState::HaveRemoteOffer);
    auto answer = *p.side[0].pc->createAnswer();
    ASSERT_TRUE(p.side[0].pc->setLocalDescription(answer));
    ASSERT_TRUE(p.side[1].pc->setRemoteDescription(answer));
    EXPECT_TRUE(p.waitConnected());
}

// Host candidates are gathered as soon as the PeerConnection exists: an offer made later carries
// them (and end-of-candidates), so that the answerer can start its checks at once and a peer
// that does not trickle can connect at all. They used to wait in the agent for the next packet.
TEST(PeerConnection, OfferCarriesTheCandidatesGatheredBeforeIt) {
    Pair p;
    std::this_thread::sleep_for(100ms);
    auto offer = *p.side[0].pc->createOffer();
    EXPECT_NE(offer.sdp.find("a=candidate:"), std::string::npos) << offer.sdp;
    EXPECT_NE(offer.sdp.find("a=end-of-candidates"), std::string::npos) << offer.sdp;
}

TEST(PeerConnection, DataChannelEchoTextBinaryEmptyAndLarge) {
    Pair p;
    auto ch = *p.side[0].pc->createDataChannel("chat");
    std::vector<std::pair<Bytes, bool>> echoed;
    bool open = false;
    ch->setCallbacks({.onOpen =
                          [&] {
                              std::lock_guard lock(p.waiter.mutex());
                              open = true;
                              p.waiter.notify();
                          },
                      .onMessage =
                          [&](ByteView d, bool binary) {
                              std::lock_guard lock(p.waiter.mutex());
                              echoed.emplace_back(Bytes(d.begin(), d.end()), binary);
                              p.waiter.notify();
                          },
                      .onClose = {},
                      .onBufferedAmountLow = {}});
    p.side[1].onRemoteChannel = [](std::shared_ptr<DataChannel> remote) {
        std::weak_ptr<DataChannel> weak = remote;
        remote->setCallbacks({.onOpen = {},
                              .onMessage =
                                  [weak](ByteView d, bool binary) {
                                      if (auto c = weak.lock())
                                          binary ? c->sendBinary(d) : c->send(asString(d));
                                  },
                              .onClose = {},
                              .onBufferedAmountLow = {}});
    };
    p.negotiate();
    ASSERT_TRUE(p.waitConnected());
    ASSERT_TRUE(p.waiter.wait([&] { return open && !p.side[1].remoteChannels.empty(); }));
    EXPECT_EQ(p.side[1].remoteChannels[0]->label(), "chat");
    std::vector<std::pair<Bytes, bool>> sent;
    std::mt19937 rng(7);
    for (size_t size : {size_t(0), size_t(1), size_t(1200), size_t(65536), size_t(256 * 1024)}) {
        for (bool binary : {false, true}) {
            Bytes b(size);
            for (auto& x : b) x = binary ? uint8_t(rng()) : uint8_t('a' + rng() % 26);
            sent.emplace_back(b, binary);
            // Even sizes go through sendBinary(Bytes&&), which moves the buffer to the loop.
            bool ok = !binary         ? ch->send(asString(b))
                      : size % 2 == 0 ? ch->sendBinary(Bytes(b))
                                      : ch->sendBinary(b);
            ASSERT_TRUE(ok) << size;
        }
    }
    ASSERT_TRUE(p.waiter.wait([&] { return echoed.size() == sent.size(); }, 20s)) << echoed.size();
    for (size_t i = 0; i < sent.size(); ++i) {
        EXPECT_EQ(echoed[i].first, sent[i].first) << i;
        EXPECT_EQ(echoed[i].second, sent[i].second) << i;
    }
    // Larger than the peer's a=max-message-size: refused, not truncated.
    EXPECT_FALSE(ch->sendBinary(Bytes(256 * 1024 + 1)));
    auto stats = p.side[0].pc->getStats();
    bool sawChannel = false;
    for (const auto& d : stats.dataChannels)
        if (d.label == "chat") sawChannel = d.messagesSent >= sent.size();
    EXPECT_TRUE(sawChannel);
    EXPECT_FALSE(stats.certificates.empty());
    ASSERT_NE(stats.selectedPair(), nullptr);
    // Over loopback both 127.0.0.1 and ::1 pairs may carry data (the selection can move from
    // the first pair that worked to the nominated one): count every pair's bytes.
    uint64_t pairBytes = 0;
    for (const auto& pair : stats.candidatePairs) pairBytes += pair.bytesSent;
    EXPECT_GT(pairBytes, 256u * 1024);
    ASSERT_TRUE(stats.transport);
    EXPECT_EQ(stats.transport->dtlsState, "connected");
    // The JSON serialization carries the W3C names.
    auto json = toJson(stats);
    for (const char* key :
         {"\"type\":\"data-channel\"", "\"type\":\"candidate-pair\"", "\"type\":\"transport\"",
          "\"selectedCandidatePairId\"", "\"dtlsRecordsDropped\""})
        EXPECT_NE(json.find(key), std::string::npos) << key;
    // A closed channel keeps its stats, and the counts are cumulative (W3C webrtc-stats).
    p.side[0].pc->close();
    bool closedKept = false;
    auto after = p.side[0].pc->getStats();
    for (const auto& d : after.dataChannels)
        if (d.label == "chat") closedKept = d.state == "closed" && d.messagesSent >= sent.size();
    ASSERT_TRUE(after.peerConnection);
    EXPECT_EQ(after.peerConnection->dataChannelsOpened, 1u);
    EXPECT_EQ(after.peerConnection->dataChannelsClosed, 1u);
    EXPECT_TRUE(closedKept);
}

// docs/API.md, "Lifetimes": a channel whose callbacks capture the channel itself is freed when
// its connection closes or is dropped. The callbacks used to stay, and the cycle leaked the
// channel for good (LeakSanitizer found it in examples/datachannel.cpp).
TEST(PeerConnection, ChannelWhoseCallbacksCaptureItIsFreedOnCloseAndOnDrop) {
    Pair p;
    auto selfCapturing = [&](const std::shared_ptr<DataChannel>& ch) {
        ch->setCallbacks({.onOpen = [ch] { (void)ch->label(); },
                          .onMessage = {},
                          .onClose = {},
                          .onBufferedAmountLow = {}});
        return std::weak_ptr<DataChannel>(ch);
    };
    auto closedOne = selfCapturing(*p.side[0].pc->createDataChannel("closed"));
    auto droppedOne = selfCapturing(*p.side[1].pc->createDataChannel("dropped"));
    p.negotiate();
    ASSERT_TRUE(p.waitConnected());
    ASSERT_TRUE(p.waiter.wait(
        [&] { return !p.side[0].remoteChannels.empty() && !p.side[1].remoteChannels.empty(); }));
    auto freed = [](const std::weak_ptr<DataChannel>& w) {
        for (int i = 0; i < 500 && !w.expired(); ++i) std::this_thread::sleep_for(10ms);
        return w.expired();
    };
    ASSERT_FALSE(closedOne.expired());
    p.side[0].pc->close();
    EXPECT_TRUE(freed(closedOne));
    ASSERT_FALSE(droppedOne.expired());
    p.side[1].pc.reset();  // no close(): the last reference goes
    EXPECT_TRUE(freed(droppedOne));
}

TEST(PeerConnection, FingerprintMismatchStopsAManInTheMiddle) {
    Pair p(/*tamperFingerprint=*/true);
    auto ch = *p.side[0].pc->createDataChannel("secret");
    p.negotiate();
    ASSERT_TRUE(p.waiter.wait([&] { return !p.side[1].dtlsFailure.empty(); }));
    EXPECT_NE(p.side[1].dtlsFailure.find("fingerprint"), std::string::npos)
        << p.side[1].dtlsFailure;
    EXPECT_TRUE(p.waiter.wait([&] { return p.side[1].state == PeerConnectionState::Failed; }));
    EXPECT_TRUE(p.side[1].remoteChannels.empty());
    EXPECT_NE(ch->state(), DataChannelState::Open);
}
