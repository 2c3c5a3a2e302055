// pc::MediaTransport alone, two of them over a simulated link in virtual time: SRTP both ways,
// demultiplexing, NACK → RTX recovery, PLI, Sender/Receiver Reports with RTT, transport-wide
// feedback into the congestion controller, and bad packets dropped and counted.
#include <gtest/gtest.h>

#include <functional>

#include "core/pc/media_transport.hpp"

using namespace tincan;
using namespace tincan::pc;

namespace {

dtls::SrtpKeyingMaterial keys() {
    dtls::SrtpKeyingMaterial k;
    k.profile = 0x0001;  // SRTP_AES128_CM_HMAC_SHA1_80
    k.clientKey = Bytes(16, 0x11);
    k.clientSalt = Bytes(14, 0x22);
    k.serverKey = Bytes(16, 0x33);
    k.serverSalt = Bytes(14, 0x44);
    return k;
}

MediaSectionConfig videoSection(bool send, bool recv, uint32_t local, uint32_t localRtx,
                                uint32_t remote, uint32_t remoteRtx) {
    MediaSectionConfig c;
    c.mid = "1";
    c.kind = MediaKind::Video;
    c.send = send;
    c.recv = recv;
    c.codec = {"VP8", 90000, 0, 96, ""};
    c.rtxPayloadType = 97;
    c.localSsrc = local;
    c.localRtxSsrc = localRtx;
    c.remoteSsrcs = {remote};
    c.remoteRtxToMedia = {{remoteRtx, remote}};
    c.remotePayloadTypes = {96};
    c.remoteRtxPayloadTypes = {{97, 96}};
    c.nack = c.pli = true;
    return c;
}

MediaConfig bundle(MediaSectionConfig section) {
    MediaConfig m;
    m.sections = {std::move(section)};
    m.midExtensionId = 4;
    m.absSendTimeExtensionId = 2;
    m.transportCcExtensionId = 3;
    m.transportCc = true;
    m.reducedSizeRtcp = true;
    m.cname = "test";
    return m;
}

struct Sim {
    Random random{7};
    MediaTransport a{random, 0};
    MediaTransport b{random, 0};
    Timestamp now = Timestamp{} + 1000s;
    Duration delay = 10ms;
    struct InFlight {
        Timestamp at;
        Bytes bytes;
        bool toB;
    };
    std::vector<InFlight> link;
    // Return true to drop a datagram a sends (after SRTP).
    std::function<bool(const Bytes&)> dropAtoB = [](const Bytes&) { return false; };
    std::vector<media_event::RtpReceived> bGot;
    int aKeyframeRequests = 0;
    std::vector<uint32_t> aTargets;
    Bytes lastAtoB;
    // Reads b's RTCP as a does (its own SRTCP context: a's replay window stays untouched).
    std::unique_ptr<srtp::SrtpSession> inspector =
        srtp::SrtpSession::create(keys(), dtls::Role::Client).value();
    std::vector<rtp::TransportFeedback> bFeedback;
    std::vector<media_event::SenderReportReceived> bReports;

    Sim() {
        a.configure(now, bundle(videoSection(true, false, 1111, 1112, 2222, 2223)));
        b.configure(now, bundle(videoSection(false, true, 2222, 2223, 1111, 1112)));
        a.handleSrtpKeys(now, keys(), dtls::Role::Client);
        b.handleSrtpKeys(now, keys(), dtls::Role::Server);
    }

    void drain() {
        while (auto p = a.pollOutgoing()) {
            lastAtoB = *p;
            if (!dropAtoB(*p)) link.push_back({now + delay, std::move(*p), true});
        }
        while (auto p = b.pollOutgoing()) {
            if (rtp::looksLikeRtcp(*p)) {
                Bytes copy = *p;
                if (auto n = inspector->unprotectRtcp(copy)) {
                    copy.resize(*n);
                    for (auto& packet : rtp::parseRtcp(copy).packets)
                        if (auto* fb = std::get_if<rtp::TransportFeedback>(&packet))
                            bFeedback.push_back(*fb);
                }
            }
            link.push_back({now + delay, std::move(*p), false});
        }
        while (auto e = a.pollEvent()) {
            if (std::holds_alternative<media_event::KeyframeRequested>(*e)) aKeyframeRequests++;
            if (auto* t = std::get_if<media_event::TargetBitrate>(&*e))
                aTargets.push_back(t->bitrateBps);
        }
        while (auto e = b.pollEvent()) {
            if (auto* r = std::get_if<media_event::RtpReceived>(&*e)) bGot.push_back(std::move(*r));
            if (auto* sr = std::get_if<media_event::SenderReportReceived>(&*e))
                bReports.push_back(*sr);
        }
    }

    void run(Duration d) {
        Timestamp end = now + d;
        while (now < end) {
            now += 1ms;
            for (auto it = link.begin(); it != link.end();) {
                if (it->at <= now) {
                    (it->toB ? b : a).handleIncoming(now, it->bytes);
                    it = link.erase(it);
                } else {
                    ++it;
                }
            }
            for (auto* t : {&a, &b})
                if (auto to = t->pollTimeout(); to && *to <= now) t->handleTimeout(now);
            drain();
        }
    }

    void sendFrame(uint32_t ts, std::vector<std::string> payloads) {
        OutgoingFrame f;
        for (size_t i = 0; i < payloads.size(); ++i)
            f.packets.push_back(
                {ts, i + 1 == payloads.size(), Bytes(payloads[i].begin(), payloads[i].end())});
        f.captureTime = now;
        f.width = 640;
        f.height = 480;
        ASSERT_TRUE(a.sendFrame(now, "1", std::move(f)));
        drain();
    }

    std::string payload(const media_event::RtpReceived& r) const {
        return std::string(r.packet.begin() + long(r.payloadOffset),
                           r.packet.begin() + long(r.payloadOffset + r.payloadSize));
    }
};

}  // namespace

TEST(MediaTransport, PacketsArriveInOrderWithTheirFields) {
    Sim sim;
    sim.sendFrame(3000, {"a0", "a1", "a2"});
    sim.run(50ms);
    ASSERT_EQ(sim.bGot.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(sim.payload(sim.bGot[i]), "a" + std::to_string(i));
        EXPECT_EQ(sim.bGot[i].mid, "1");
        EXPECT_EQ(sim.bGot[i].ssrc, 1111u);
        EXPECT_EQ(sim.bGot[i].payloadType, 96);
        EXPECT_EQ(sim.bGot[i].rtpTimestamp, 3000u);
        EXPECT_EQ(sim.bGot[i].marker, i == 2);
        EXPECT_FALSE(sim.bGot[i].retransmitted);
    }
    EXPECT_EQ(uint16_t(sim.bGot[1].sequenceNumber - sim.bGot[0].sequenceNumber), 1);
    auto st = sim.a.sectionStats();
    ASSERT_EQ(st.size(), 1u);
    EXPECT_EQ(st[0].packetsSent, 3u);
    EXPECT_EQ(st[0].framesEncoded, 1u);
    EXPECT_EQ(st[0].frameWidth, 640u);
    EXPECT_EQ(sim.b.sectionStats()[0].packetsReceived, 3u);
}

// RFC 4585 §6.2.1 + RFC 4588: the hole is NACKed, the sender resends it in its RTX stream, and
// the receiver gets the original packet back (same seq, ssrc, payload) marked as retransmitted.
TEST(MediaTransport, ALostPacketIsRecoveredThroughNackAndRtx) {
    Sim sim;
    int sent = 0;
    sim.dropAtoB = [&](const Bytes& p) {
        // Drop the second RTP packet once (RTCP has a packet type of 200..206 in byte 1).
        if (p.size() > 1 && (p[1] & 0x7F) == 96 && ++sent == 2) return true;
        return false;
    };
    sim.sendFrame(3000, {"b0", "b1", "b2"});
    sim.run(20ms);
    ASSERT_EQ(sim.bGot.size(), 2u);
    sim.run(200ms);
    ASSERT_EQ(sim.bGot.size(), 3u);
    const auto& r = sim.bGot[2];
    EXPECT_TRUE(r.retransmitted);
    EXPECT_EQ(sim.payload(r), "b1");
    EXPECT_EQ(r.ssrc, 1111u);
    EXPECT_EQ(r.payloadType, 96);
    EXPECT_EQ(uint16_t(r.sequenceNumber - sim.bGot[0].sequenceNumber), 1);
    EXPECT_GE(sim.a.sectionStats()[0].nackCount, 1u);
    EXPECT_EQ(sim.a.sectionStats()[0].retransmittedPacketsSent, 1u);
    EXPECT_GE(sim.b.sectionStats()[0].nackSent, 1u);
}

TEST(MediaTransport, KeyframeRequestReachesTheSender) {
    Sim sim;
    sim.sendFrame(3000, {"k"});
    sim.run(30ms);
    sim.b.requestKeyframe(sim.now, "1");
    sim.drain();
    sim.run(30ms);
    EXPECT_EQ(sim.aKeyframeRequests, 1);
    EXPECT_EQ(sim.a.sectionStats()[0].pliCount, 1u);
}

// RFC 3550 §6.4: the SR's NTP time comes back in the receiver's report block (LSR/DLSR): the
// round trip is measured; transport-wide feedback reaches the congestion controller, whose
// estimate comes up as the encoder's target.
TEST(MediaTransport, ReportsGiveRoundTripTimeAndFeedbackDrivesTheTarget) {
    Sim sim;
    sim.delay = 25ms;
    for (int i = 0; i < 100; ++i) {
        // 2970 ticks of 90 kHz: the 33 ms between frames, so the RTP clock keeps real time.
        sim.sendFrame(uint32_t(2970 * i), {std::string(1000, 'x'), std::string(1000, 'y')});
        sim.run(33ms);
    }
    auto st = sim.a.sectionStats()[0];
    ASSERT_TRUE(st.roundTripTime);
    EXPECT_NEAR(*st.roundTripTime, 0.050, 0.010);
    EXPECT_TRUE(st.remoteReportSeen);
    EXPECT_EQ(st.remotePacketsLost, 0);
    ASSERT_FALSE(sim.aTargets.empty());
    EXPECT_GT(st.targetBitrate, 0u);
    // libwebrtc ignores transport feedback whose media SSRC is not one it sends (media or RTX).
    ASSERT_FALSE(sim.bFeedback.empty());
    for (const auto& fb : sim.bFeedback) {
        EXPECT_TRUE(fb.mediaSsrc == 1111u || fb.mediaSsrc == 1112u) << fb.mediaSsrc;
        EXPECT_EQ(fb.senderSsrc, 2222u);
    }
    EXPECT_GE(sim.bGot.size(), 200u);
    // a's Sender Reports reach b's track as a clock mapping (lip sync): its RTP clock (90 kHz)
    // and its NTP clock advance together between two reports.
    ASSERT_GE(sim.bReports.size(), 2u);
    const auto& first = sim.bReports.front();
    const auto& last = sim.bReports.back();
    EXPECT_EQ(first.mid, "1");
    EXPECT_EQ(first.ssrc, 1111u);
    double ntpSeconds = double(last.ntpTime - first.ntpTime) / 4294967296.0;
    double rtpSeconds = double(uint32_t(last.rtpTimestamp - first.rtpTimestamp)) / 90000.0;
    EXPECT_GT(ntpSeconds, 1.0);
    EXPECT_NEAR(rtpSeconds, ntpSeconds, 0.005);
}

TEST(MediaTransport, ReplayedTamperedAndUnknownPacketsAreDroppedAndCounted) {
    Sim sim;
    sim.sendFrame(3000, {"r0"});
    sim.run(20ms);
    ASSERT_EQ(sim.bGot.size(), 1u);
    Bytes copy = sim.lastAtoB;
    sim.run(20ms);  // the original has arrived
    auto before = sim.b.stats();
    sim.b.handleIncoming(sim.now, copy);  // replayed (RFC 3711 §3.3.2)
    copy[copy.size() - 3] ^= 0x01;        // tampered: the auth tag no longer matches
    sim.b.handleIncoming(sim.now, copy);
    sim.drain();
    EXPECT_EQ(sim.bGot.size(), 1u);
    EXPECT_EQ(sim.b.stats().srtpFailed - before.srtpFailed, 2u);
    EXPECT_EQ(sim.b.stats().duplicatesDropped, before.duplicatesDropped);
    // Before the keys, nothing is taken.
    Random r{1};
    MediaTransport fresh(r, 0);
    fresh.handleIncoming(sim.now, copy);
    EXPECT_EQ(fresh.stats().beforeKeysDropped, 1u);
}

// A peer without transport-wide feedback (aiortc) reports its estimate in REMB: that becomes
// the target (the delay-based estimate would otherwise stay at its start rate for ever).
TEST(MediaTransport, WithoutTransportCcTheTargetFollowsRemb) {
    Random random{3};
    MediaTransport t(random, 0);
    Timestamp now = Timestamp{} + 10s;
    auto config = bundle(videoSection(true, true, 1111, 1112, 2222, 2223));
    config.transportCc = false;
    t.configure(now, config);
    t.handleSrtpKeys(now, keys(), dtls::Role::Client);
    uint64_t start = t.targetBitrateBps();
    t.handlePlaintext(now, rtp::serializeRtcp(rtp::RtcpPacket{rtp::Remb{2222, 1'500'000, {1111}}}));
    EXPECT_EQ(t.targetBitrateBps(), 1'500'000u);
    EXPECT_NE(start, 1'500'000u);
    uint32_t last = 0;
    while (auto e = t.pollEvent())
        if (auto* b = std::get_if<media_event::TargetBitrate>(&*e)) last = b->bitrateBps;
    EXPECT_EQ(last, 1'500'000u) << "video gets the REMB estimate (no audio sender here)";
}

// Found by fuzz_media_transport: an older sequence number right after the first one unwraps
// below zero, and the duplicate window indexed with it out of bounds. Now: taken, and its second
// copy dropped as a duplicate.
TEST(MediaTransport, OlderSequenceNumbersAfterTheFirstAreTakenAndDeduplicated) {
    Sim sim;
    auto packet = [](uint16_t seq) {
        rtp::RtpHeader h;
        h.payloadType = 96;
        h.sequenceNumber = seq;
        h.timestamp = 9000;
        h.ssrc = 1111;
        return rtp::serializeRtp(h, asBytes(std::string_view("x")));
    };
    for (uint16_t seq : {100, 50, 50, 40}) sim.b.handlePlaintext(sim.now, packet(seq));
    sim.drain();
    EXPECT_EQ(sim.bGot.size(), 3u);
    EXPECT_EQ(sim.b.stats().duplicatesDropped, 1u);
}
