// Two PeerConnections on one runtime over loopback: real sockets, ICE, DTLS, SCTP, DCEP.
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "core/pc/peer_connection.hpp"
#include "core/transfer/file_transfer.hpp"

using namespace tincan;
using namespace std::chrono_literals;

namespace {

// Waits on a predicate that callbacks (network thread) make true.
class Waiter {
public:
    // Call with mutex() held (the predicate's data changed under it).
    void notify() { cv_.notify_all(); }
    template <typename P>
    bool wait(P pred, std::chrono::milliseconds limit = 10s) {
        std::unique_lock lock(m_);
        return cv_.wait_for(lock, limit, pred);
    }
    std::mutex& mutex() { return m_; }

private:
    std::mutex m_;
    std::condition_variable cv_;
};

struct Side {
    std::shared_ptr<pc::PeerConnection> pc;
    std::vector<std::shared_ptr<pc::DataChannel>> remoteChannels;
    std::vector<std::optional<pc::IceCandidateInit>> candidates;
    pc::ConnectionState state = pc::ConnectionState::New;
    // Runs inside onDataChannel (network thread), before any message can be delivered.
    std::function<void(std::shared_ptr<pc::DataChannel>)> onRemoteChannel;
    std::string dtlsFailure;
};

class Pair {
public:
    explicit Pair(bool tamperFingerprint = false) : tamper_(tamperFingerprint) {
        runtime.start();
        for (int i = 0; i < 2; ++i) {
            pc::Configuration cfg;
            cfg.hostPolicy.onlyInterfaces = {"lo"};
            cfg.hostPolicy.includeLoopback = true;
            cfg.hostPolicy.ipv6 = false;
            pc::PeerConnectionCallbacks cb;
            Side* s = &side[i];
            Side* other = &side[1 - i];
            cb.onIceCandidate = [other](std::optional<pc::IceCandidateInit> c) {
                // Trickle straight to the other side (it buffers until its remote description).
                // Both share the runtime, so this runs inline on its loop thread.
                other->pc->addIceCandidate(c);
            };
            cb.onConnectionState = [this, s](pc::ConnectionState st) {
                std::lock_guard lock(waiter.mutex());
                s->state = st;
                waiter.notify();
            };
            cb.onDataChannel = [this, s](std::shared_ptr<pc::DataChannel> ch) {
                if (s->onRemoteChannel) s->onRemoteChannel(ch);
                std::lock_guard lock(waiter.mutex());
                s->remoteChannels.push_back(ch);
                waiter.notify();
            };
            cb.onDtlsState = [this, s](dtls::State st, const std::string& reason) {
                if (st != dtls::State::Failed) return;
                std::lock_guard lock(waiter.mutex());
                s->dtlsFailure = reason;
                waiter.notify();
            };
            std::string err;
            side[i].pc = pc::PeerConnection::create(runtime, cfg, cb, &err);
            EXPECT_TRUE(side[i].pc) << err;
        }
    }
    ~Pair() {
        for (auto& s : side)
            if (s.pc) s.pc->close();
        runtime.stop();
    }

    void negotiate() {
        auto offer = std::get<pc::SessionDescriptionInit>(side[0].pc->createOffer());
        ASSERT_FALSE(side[0].pc->setLocalDescription(offer));
        if (tamper_) {
            // A man in the middle rewrites the fingerprint: DTLS must refuse the real certificate.
            auto pos = offer.sdp.find("a=fingerprint:sha-256 ");
            ASSERT_NE(pos, std::string::npos);
            pos += 22;
            offer.sdp[pos] = offer.sdp[pos] == 'A' ? 'B' : 'A';
        }
        auto err = side[1].pc->setRemoteDescription(offer);
        ASSERT_FALSE(err) << *err;
        auto answer = std::get<pc::SessionDescriptionInit>(side[1].pc->createAnswer());
        ASSERT_FALSE(side[1].pc->setLocalDescription(answer));
        err = side[0].pc->setRemoteDescription(answer);
        ASSERT_FALSE(err) << *err;
    }

    bool waitConnected() {
        return waiter.wait([&] {
            return side[0].state == pc::ConnectionState::Connected && side[1].state == pc::ConnectionState::Connected;
        });
    }

    net::Runtime runtime;
    Side side[2];
    Waiter waiter;

private:
    bool tamper_;
};

}  // namespace

TEST(PeerConnection, OfferAnswerDescribesADataChannelSession) {
    Pair p;
    auto offer = std::get<pc::SessionDescriptionInit>(p.side[0].pc->createOffer());
    EXPECT_EQ(offer.type, "offer");
    for (const char* line : {"m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=setup:actpass", "a=sctp-port:5000",
                             "a=max-message-size:262144", "a=ice-options:trickle", "a=fingerprint:sha-256 ",
                             "a=group:BUNDLE 0"})
        EXPECT_NE(offer.sdp.find(line), std::string::npos) << line;
    EXPECT_EQ(p.side[0].pc->createAnswer().index(), 1u) << "no answer without a remote offer";
    ASSERT_FALSE(p.side[0].pc->setLocalDescription(offer));
    EXPECT_EQ(p.side[0].pc->signalingState(), pc::SignalingState::HaveLocalOffer);
    ASSERT_FALSE(p.side[1].pc->setRemoteDescription(offer));
    auto answer = std::get<pc::SessionDescriptionInit>(p.side[1].pc->createAnswer());
    EXPECT_NE(answer.sdp.find("a=setup:active"), std::string::npos);
}

TEST(PeerConnection, RefusesMalformedDescriptionsWithAReason) {
    Pair p;
    auto err = p.side[0].pc->setRemoteDescription({"offer", "v=0\r\nthis is not sdp\r\n"});
    ASSERT_TRUE(err);
    EXPECT_NE(err->find("line 2"), std::string::npos) << *err;
    auto offer = std::get<pc::SessionDescriptionInit>(p.side[1].pc->createOffer());
    std::string noFingerprint = offer.sdp;
    auto pos = noFingerprint.find("a=fingerprint:");
    noFingerprint.erase(pos, noFingerprint.find("\r\n", pos) + 2 - pos);
    err = p.side[0].pc->setRemoteDescription({"offer", noFingerprint});
    ASSERT_TRUE(err);
    EXPECT_NE(err->find("fingerprint"), std::string::npos) << *err;
    EXPECT_EQ(p.side[0].pc->signalingState(), pc::SignalingState::Stable);
}

TEST(PeerConnection, GlareRollsBackThePoliteOffer) {
    Pair p;
    auto mine = std::get<pc::SessionDescriptionInit>(p.side[0].pc->createOffer());
    ASSERT_FALSE(p.side[0].pc->setLocalDescription(mine));
    auto theirs = std::get<pc::SessionDescriptionInit>(p.side[1].pc->createOffer());
    ASSERT_FALSE(p.side[1].pc->setLocalDescription(theirs));
    // Side 0 is polite: applying the remote offer rolls its own back.
    ASSERT_FALSE(p.side[0].pc->setRemoteDescription(theirs));
    EXPECT_EQ(p.side[0].pc->signalingState(), pc::SignalingState::HaveRemoteOffer);
    auto answer = std::get<pc::SessionDescriptionInit>(p.side[0].pc->createAnswer());
    ASSERT_FALSE(p.side[0].pc->setLocalDescription(answer));
    ASSERT_FALSE(p.side[1].pc->setRemoteDescription(answer));
    EXPECT_TRUE(p.waitConnected());
}

// Host candidates are gathered as soon as the PeerConnection exists: an offer made later carries
// them (and end-of-candidates), so that the answerer can start its checks at once and a peer
// that does not trickle can connect at all. They used to wait in the agent for the next packet.
TEST(PeerConnection, OfferCarriesTheCandidatesGatheredBeforeIt) {
    Pair p;
    std::this_thread::sleep_for(100ms);
    auto offer = std::get<pc::SessionDescriptionInit>(p.side[0].pc->createOffer());
    EXPECT_NE(offer.sdp.find("a=candidate:"), std::string::npos) << offer.sdp;
    EXPECT_NE(offer.sdp.find("a=end-of-candidates"), std::string::npos) << offer.sdp;
}

TEST(PeerConnection, DataChannelEchoTextBinaryEmptyAndLarge) {
    Pair p;
    auto ch = p.side[0].pc->createDataChannel("chat");
    std::vector<std::pair<Bytes, bool>> echoed;
    bool open = false;
    ch->setCallbacks({.onOpen = [&] {
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
    p.side[1].onRemoteChannel = [](std::shared_ptr<pc::DataChannel> remote) {
        std::weak_ptr<pc::DataChannel> weak = remote;
        remote->setCallbacks({.onOpen = {},
                              .onMessage =
                                  [weak](ByteView d, bool binary) {
                                      if (auto c = weak.lock()) binary ? c->sendBinary(d) : c->send(asString(d));
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
            ASSERT_TRUE(binary ? ch->sendBinary(b) : ch->send(asString(b))) << size;
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
    bool sawChannel = false, sawCert = false;
    for (const auto& e : stats) {
        if (e["type"] == "data-channel" && e["label"] == "chat") sawChannel = e["messagesSent"].get<uint64_t>() >= sent.size();
        if (e["type"] == "certificate") sawCert = true;
    }
    EXPECT_TRUE(sawChannel);
    EXPECT_TRUE(sawCert);
    // A closed channel keeps its stats, and the counts are cumulative (W3C webrtc-stats).
    p.side[0].pc->close();
    bool closedKept = false;
    for (const auto& e : p.side[0].pc->getStats()) {
        if (e["type"] == "data-channel" && e["label"] == "chat")
            closedKept = e["state"] == "closed" && e["messagesSent"].get<uint64_t>() >= sent.size();
        if (e["type"] == "peer-connection") {
            EXPECT_EQ(e["dataChannelsOpened"], 1);
            EXPECT_EQ(e["dataChannelsClosed"], 1);
        }
    }
    EXPECT_TRUE(closedKept);
}

TEST(PeerConnection, FingerprintMismatchStopsAManInTheMiddle) {
    Pair p(/*tamperFingerprint=*/true);
    auto ch = p.side[0].pc->createDataChannel("secret");
    p.negotiate();
    ASSERT_TRUE(p.waiter.wait([&] { return !p.side[1].dtlsFailure.empty(); }));
    EXPECT_NE(p.side[1].dtlsFailure.find("fingerprint"), std::string::npos) << p.side[1].dtlsFailure;
    EXPECT_TRUE(p.waiter.wait([&] { return p.side[1].state == pc::ConnectionState::Failed; }));
    EXPECT_TRUE(p.side[1].remoteChannels.empty());
    EXPECT_NE(ch->state(), pc::DataChannelState::Open);
}

TEST(PeerConnection, FileTransferStreamsVerifiesAndResumes) {
    namespace fs = std::filesystem;
    fs::path dir = fs::temp_directory_path() / ("tincan-ft-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "out");
    fs::path src = dir / "data.bin";
    {
        std::ofstream f(src, std::ios::binary);
        std::mt19937 rng(3);
        std::vector<char> block(1 << 20);
        for (int i = 0; i < 8; ++i) {
            for (auto& c : block) c = char(rng());
            f.write(block.data(), block.size());
        }
    }
    // A partial download of the same file (same name and size) is resumed from its end.
    {
        std::ifstream in(src, std::ios::binary);
        std::vector<char> head(3 << 20);
        in.read(head.data(), head.size());
        std::ofstream part(dir / "out" / (".data.bin." + std::to_string(8 << 20) + ".tincan-part"), std::ios::binary);
        part.write(head.data(), head.size());
    }
    Pair p;
    std::shared_ptr<transfer::FileReceiver> receiver;
    std::optional<transfer::Done> sent, got;
    std::string error;
    auto ch = p.side[0].pc->createDataChannel("file");
    auto sender = transfer::FileSender::start(ch, src,
                                              {.onProgress = {},
                                               .onDone =
                                                   [&](const transfer::Done& d) {
                                                       std::lock_guard lock(p.waiter.mutex());
                                                       sent = d;
                                                       p.waiter.notify();
                                                   },
                                               .onError =
                                                   [&](const std::string& e) {
                                                       std::lock_guard lock(p.waiter.mutex());
                                                       error = e;
                                                       p.waiter.notify();
                                                   }},
                                              &error);
    ASSERT_TRUE(sender) << error;
    p.side[1].onRemoteChannel = [&](std::shared_ptr<pc::DataChannel> remote) {
        receiver = transfer::FileReceiver::start(remote, {.directory = dir / "out"},
                                                 {.onProgress = {},
                                                  .onDone =
                                                      [&](const transfer::Done& d) {
                                                          std::lock_guard lock(p.waiter.mutex());
                                                          got = d;
                                                          p.waiter.notify();
                                                      },
                                                  .onError =
                                                      [&](const std::string& e) {
                                                          std::lock_guard lock(p.waiter.mutex());
                                                          error = e;
                                                          p.waiter.notify();
                                                      }});
    };
    p.negotiate();
    ASSERT_TRUE(p.waiter.wait([&] { return (sent && got) || !error.empty(); }, 30s)) << error;
    ASSERT_TRUE(error.empty()) << error;
    EXPECT_EQ(sent->sha256, got->sha256);
    EXPECT_EQ(got->resumedFrom, 3u << 20);
    EXPECT_EQ(fs::file_size(dir / "out" / "data.bin"), 8u << 20);
    EXPECT_FALSE(fs::exists(dir / "out" / (".data.bin." + std::to_string(8 << 20) + ".tincan-part")));
    fs::remove_all(dir);
}

TEST(FileTransfer, SanitizesSuggestedNames) {
    using transfer::FileReceiver;
    EXPECT_EQ(FileReceiver::sanitizeName("report.pdf"), "report.pdf");
    EXPECT_EQ(FileReceiver::sanitizeName("../../etc/passwd"), "passwd");
    EXPECT_EQ(FileReceiver::sanitizeName("C:\\Windows\\evil.exe"), "evil.exe");
    EXPECT_EQ(FileReceiver::sanitizeName(".bashrc"), "bashrc");
    EXPECT_EQ(FileReceiver::sanitizeName(".."), "file");
    EXPECT_EQ(FileReceiver::sanitizeName(""), "file");
    EXPECT_EQ(FileReceiver::sanitizeName(std::string("a\nb\x01" "c")), "abc");
    EXPECT_EQ(FileReceiver::sanitizeName("dir/"), "file");
}
