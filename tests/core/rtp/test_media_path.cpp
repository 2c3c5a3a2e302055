// The pieces together, as the connection will wire them: sender (RTP writer → history →
// pacer → transport-wide seq → congestion controller → SRTP) over a lossy wire to a receiver
// (SRTP → parse → RTX unwrap → statistics, NACK, TWCC), RTCP back over SRTCP. With 5 % loss
// every media packet arrives in the end through NACK and RTX, in virtual time.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>
#include <set>

#include "core/cc/goog_cc.hpp"
#include "core/cc/pacer.hpp"
#include "core/rtp/nack_generator.hpp"
#include "core/rtp/packet_history.hpp"
#include "core/rtp/receive_statistics.hpp"
#include "core/rtp/rtcp.hpp"
#include "core/rtp/rtp_packet.hpp"
#include "core/rtp/twcc_generator.hpp"
#include "core/srtp/srtp_session.hpp"

using namespace tincan;
using namespace tincan::rtp;

namespace {

constexpr uint32_t kSsrc = 0x1111, kRtxSsrc = 0x2222, kReceiverSsrc = 0x3333;
constexpr uint8_t kPt = 96, kRtxPt = 97, kTccId = 3;

dtls::SrtpKeyingMaterial keys() {
    dtls::SrtpKeyingMaterial k;
    k.profile = dtls::kSrtpAeadAes128Gcm;
    k.clientKey = Bytes(16, 1);
    k.serverKey = Bytes(16, 2);
    k.clientSalt = Bytes(12, 3);
    k.serverSalt = Bytes(12, 4);
    return k;
}

template <typename T>
std::unique_ptr<T> take(Result<std::unique_ptr<T>> r) {
    return std::move(r).value();
}

struct Datagram {
    Timestamp arrival;
    Bytes bytes;
};

}  // namespace

TEST(MediaPath, FivePercentLossIsRepairedByNackAndRtx) {
    const Timestamp t0 = Timestamp{} + 10s;
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> uni(0, 1);
    auto senderSrtp = take(srtp::SrtpSession::create(keys(), dtls::Role::Client));
    auto receiverSrtp = take(srtp::SrtpSession::create(keys(), dtls::Role::Server));

    // Sender.
    PacketHistory history;
    cc::CongestionController::Config ccConfig;
    ccConfig.initialProbing = false;  // no padding packets in this test
    cc::CongestionController congestion(ccConfig);
    cc::Pacer pacer;
    std::map<uint64_t, Bytes> queued;  // pacer handle → packet
    uint64_t nextId = 0;
    uint16_t seq = 0, rtxSeq = 0, transportSeq = 0;
    // Receiver.
    ReceiveStatistics stats(kSsrc, {90000, 1});
    NackGenerator nack;
    TwccGenerator twcc({kReceiverSsrc, kSsrc, 50ms, 1000});
    std::set<uint16_t> delivered;
    size_t rtxReceived = 0;

    std::deque<Datagram> forward, backward;  // 20 ms each way; forward loses 5 %
    size_t sent = 0, lost = 0, lostOriginals = 0;

    for (Timestamp now = t0; now < t0 + 4s; now += 1ms) {
        // Media: one 400-byte packet every 10 ms for 3 s.
        if (now < t0 + 3s && (now - t0) % 10ms == Duration::zero()) {
            RtpHeader h;
            h.payloadType = kPt;
            h.sequenceNumber = seq++;
            h.timestamp = uint32_t((now - t0) / 1ms * 90);
            h.ssrc = kSsrc;
            h.setExtension(kTccId, transportSequenceNumberValue(0));
            Bytes packet = serializeRtp(h, Bytes(400, uint8_t(h.sequenceNumber)));
            history.put(now, h.sequenceNumber, packet);
            queued[nextId] = std::move(packet);
            pacer.enqueue(now, nextId++, 430, cc::PacketKind::Video);
            ++sent;
        }
        pacer.setTargetBitrate(congestion.targetBitrateBps());
        while (auto s = pacer.poll(now)) {
            Bytes packet = std::move(queued[s->id]);
            queued.erase(s->id);
            ASSERT_TRUE(
                writeExtensionInPlace(packet, kTccId, transportSequenceNumberValue(transportSeq)));
            congestion.onPacketSent({transportSeq++, now, packet.size(), s->probeClusterId});
            ASSERT_TRUE(senderSrtp->protectRtp(packet));
            if (uni(rng) < 0.05) {
                ++lost;
                if (s->kind == cc::PacketKind::Video) ++lostOriginals;
                continue;
            }
            forward.push_back({now + 20ms, std::move(packet)});
        }
        // Receiver.
        while (!forward.empty() && forward.front().arrival <= now) {
            Bytes& d = forward.front().bytes;
            auto n = receiverSrtp->unprotectRtp(d);
            ASSERT_TRUE(n);
            auto parsed = parseRtp(ByteView(d).first(*n));
            auto view = parsed.value();
            Bytes original;
            if (view.ssrc == kRtxSsrc) {
                ++rtxReceived;
                twcc.onPacket(now, *readTransportSequenceNumber(view, kTccId));
                original = unwrapRtx(view, kSsrc, kPt).value();
                parsed = parseRtp(original);
                view = parsed.value();
            } else {
                twcc.onPacket(now, *readTransportSequenceNumber(view, kTccId));
            }
            EXPECT_EQ(view.payload.size(), 400u);
            EXPECT_EQ(view.payload[0], uint8_t(view.sequenceNumber));
            stats.onPacket(now, view.sequenceNumber, view.timestamp, view.ssrc == kRtxSsrc);
            nack.onPacket(now, view.sequenceNumber);
            delivered.insert(view.sequenceNumber);
            forward.pop_front();
        }
        std::vector<RtcpPacket> rtcp;
        if (auto missing = nack.pollNack(now); !missing.empty())
            rtcp.push_back(Nack{kReceiverSsrc, kSsrc, missing});
        while (auto fb = twcc.pollFeedback(now)) rtcp.push_back(*fb);
        EXPECT_FALSE(nack.pollKeyframeNeeded());
        if (!rtcp.empty()) {
            Bytes wire = serializeRtcp(rtcp);
            ASSERT_TRUE(receiverSrtp->protectRtcp(wire));
            backward.push_back({now + 20ms, std::move(wire)});
        }
        // Sender's RTCP.
        while (!backward.empty() && backward.front().arrival <= now) {
            Bytes plain;
            ASSERT_TRUE(senderSrtp->unprotectRtcpInto(backward.front().bytes, plain));
            backward.pop_front();
            RtcpCompound c = parseRtcp(plain);
            EXPECT_TRUE(c.dropped.empty());
            for (const auto& p : c.packets) {
                if (auto* fb = std::get_if<TransportFeedback>(&p))
                    congestion.onTransportFeedback(now, *fb);
                if (auto* n = std::get_if<Nack>(&p)) {
                    for (uint16_t s : n->lostSeqs) {
                        const Bytes* stored = history.getForResend(now, s, 40ms);
                        if (!stored) continue;
                        auto v = parseRtp(*stored);
                        queued[nextId] = wrapRtx(v.value(), kRtxSsrc, kRtxPt, rtxSeq++);
                        pacer.enqueue(now, nextId++, 432, cc::PacketKind::Retransmission);
                    }
                }
            }
        }
    }
    std::printf("media-path: sent %zu, lost on the wire %zu, RTX received %zu, NACKed seqs %llu\n",
                sent, lost, rtxReceived, (unsigned long long)nack.stats().requested);
    EXPECT_GT(lostOriginals, 0u);
    EXPECT_GT(lost, lostOriginals);     // some retransmissions were lost too and asked for again
    EXPECT_EQ(delivered.size(), sent);  // everything arrived in the end
    EXPECT_GE(rtxReceived, lostOriginals);  // each loss repaired (lost RTX asked again)
    EXPECT_EQ(stats.cumulativeLost(), 0);
    EXPECT_EQ(nack.missingCount(), 0u);
    EXPECT_EQ(nack.stats().givenUp, 0u);
    EXPECT_EQ(receiverSrtp->stats().authFailed + receiverSrtp->stats().replayDropped, 0u);
    EXPECT_GT(congestion.stats().feedbacks, 50u);
    EXPECT_GE(congestion.targetBitrateBps(), 300'000u);
}
