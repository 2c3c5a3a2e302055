// AudioSendStream (a 440 Hz tone) → an in-process link → AudioReceiveStream, with real threads
// and real time (short runs): the receiver hears the tone, and conceals what the link loses.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <vector>

#include "media/audio/tone.hpp"
#include "media/audio/wav.hpp"
#include "media/call/audio_receive_stream.hpp"
#include "media/call/audio_send_stream.hpp"
#include "tests/media/call/fake_link.hpp"

using namespace tincan;
using namespace tincan::media;
using namespace std::chrono_literals;

namespace {

struct AudioRun {
    AudioReceiveStats receive;
    AudioSendStats send;
    uint64_t dropped = 0;
    WavData wav;
};

// Runs until the receiver has played `framesToPlay` 20 ms frames and analysed `framesClean` clean
// ones (how long that takes depends on the machine's load, which the checks do not).
AudioRun runAudio(std::function<bool(uint64_t)> dropPacket, uint64_t framesToPlay,
                  uint64_t framesClean, bool muted = false) {
    const std::string wav = (std::filesystem::temp_directory_path() /
                             ("tincan-audio-streams-" + std::to_string(::getpid()) + ".wav"))
                                .string();
    AudioReceiveConfig rc;
    rc.recordPath = wav;
    rc.probeFrequencyHz = 440;
    AudioReceiveStream receive(rc);
    test::FakeLink link(
        {.dropFrame = {}, .dropPacket = std::move(dropPacket), .reorderChance = 0.05},
        [&](const RtpPacketIn& p) { receive.onPacket(p); }, 3);
    AudioSendConfig sc;
    sc.toneFrequencyHz = 440;
    AudioSendStream send(sc, [&](OutgoingFrame f) {
        EXPECT_EQ(f.packets.size(), 1u);
        EXPECT_FALSE(f.packets[0].marker);
        return link.send(std::move(f));
    });
    send.setMuted(muted);
    std::string error;
    EXPECT_TRUE(receive.start(error)) << error;
    EXPECT_TRUE(send.start(error)) << error;
    EXPECT_TRUE(test::waitFor(
        [&] {
            const auto s = receive.stats();
            return s.framesPlayed >= framesToPlay && s.framesAnalysed >= framesClean;
        },
        30s));
    send.stop();
    receive.stop();
    AudioRun r{receive.stats(), send.stats(), link.dropped(), {}};
    EXPECT_TRUE(readWav(wav, r.wav, error)) << error;
    std::filesystem::remove(wav);
    return r;
}

}  // namespace

TEST(AudioStreams, ReceiverHearsTheTone) {
    AudioRun r = runAudio({}, 60, 40);
    EXPECT_EQ(r.dropped, 0u);
    EXPECT_GT(r.send.packetsSent, 0u);
    EXPECT_EQ(r.send.packetsRefused, 0u);
    EXPECT_GE(r.receive.framesAnalysed, 40u);
    // Nearly every clean 20 ms is the tone, at the tone's frequency and about its level (−12).
    EXPECT_GT(double(r.receive.toneFrames), 0.9 * double(r.receive.framesAnalysed));
    EXPECT_NEAR(r.receive.estimatedFrequencyHz, 440, 5);
    EXPECT_NEAR(r.receive.levelDbfs, -15, 3);  // a sine's RMS is 3 dB under its peak
    EXPECT_EQ(r.receive.media.totalSamplesReceived, r.receive.framesPlayed * 960);
    // The recording: silence until playout starts, then the tone.
    EXPECT_EQ(r.wav.rateHz, 48000);
    ASSERT_GT(r.wav.samples.size(), 960u * 40);
    std::span<const int16_t> tail(r.wav.samples.end() - 960 * 20, r.wav.samples.end());
    EXPECT_GT(goertzelPower(tail, 1, 440), 20 * goertzelPower(tail, 1, 880));
    EXPECT_GT(goertzelPower(tail, 1, 440), 20 * goertzelPower(tail, 1, 300));
}

TEST(AudioStreams, BurstLossIsConcealedAndCounted) {
    // Three packets in a row out of every 20 (FEC could rebuild at most the last of each burst,
    // and Opus codes a pure tone in CELT mode, which carries no FEC).
    AudioRun r = runAudio([](uint64_t i) { return i % 20 >= 10 && i % 20 < 13; }, 100, 40);
    EXPECT_GT(r.dropped, 6u);
    EXPECT_GT(r.receive.media.concealedSamples, 0u);
    // One event per burst: 100 frames played see at least 3 of the bursts (one every 20).
    EXPECT_GE(r.receive.media.concealmentEvents, 3u);
    EXPECT_GE(r.receive.media.concealedSamples, 960u * 2 * 3);
    // The clean frames between the bursts still carry the tone.
    EXPECT_GT(double(r.receive.toneFrames), 0.8 * double(r.receive.framesAnalysed));
    EXPECT_NEAR(r.receive.estimatedFrequencyHz, 440, 10);
}

TEST(AudioStreams, UnwritableRecordingIsRefused) {
    AudioReceiveConfig rc;
    rc.recordPath = "/proc/self/cannot-write-here.wav";
    AudioReceiveStream receive(rc);
    std::string error;
    EXPECT_FALSE(receive.start(error));
    EXPECT_FALSE(error.empty());
}

TEST(AudioStreams, MutedSendsSilence) {
    // Packets keep flowing (the peer's playout carries on) but carry no tone.
    AudioRun r = runAudio({}, 60, 30, true);
    EXPECT_GT(r.send.packetsSent, 50u);
    EXPECT_GE(r.receive.framesAnalysed, 30u);
    EXPECT_EQ(r.receive.toneFrames, 0u);
    EXPECT_LT(r.receive.levelDbfs, -80);
}

TEST(AudioStreams, MalformedPacketsAreDroppedAndCounted) {
    AudioReceiveStream receive;
    std::string error;
    ASSERT_TRUE(receive.start(error)) << error;
    const uint8_t bad[] = {0xFF};  // code 3 without its frame-count byte: not Opus
    RtpPacketIn p;
    for (int i = 0; i < 5; ++i) {
        p.sequenceNumber = uint16_t(i);
        p.rtpTimestamp = uint32_t(960 * i);
        p.payload = i % 2 ? ByteView() : ByteView(bad, 1);
        receive.onPacket(p);
    }
    EXPECT_TRUE(test::waitFor([&] { return receive.stats().packetsMalformed >= 5; }, 5s));
    receive.stop();
    EXPECT_EQ(receive.stats().packetsMalformed, 5u);
    EXPECT_EQ(receive.stats().media.totalSamplesReceived, 0u);
}

TEST(AudioStreams, DtxFromThePeersFmtpSendsLittleDuringSilenceAndIsNotLoss) {
    AudioReceiveStream receive;
    std::mutex m;
    std::vector<size_t> sizes;
    std::vector<uint32_t> timestamps;
    test::FakeLink link({}, [&](const RtpPacketIn& p) { receive.onPacket(p); });
    AudioSendStream send({}, [&](OutgoingFrame f) {
        {
            std::lock_guard lock(m);
            sizes.push_back(f.packets[0].payload.size());
            timestamps.push_back(f.packets[0].rtpTimestamp);
        }
        return link.send(std::move(f));
    });
    send.setMuted(true);  // silence in
    send.applyPeerFmtp("minptime=10;useinbandfec=1;usedtx=1");
    std::string error;
    ASSERT_TRUE(receive.start(error)) << error;
    ASSERT_TRUE(send.start(error)) << error;
    ASSERT_TRUE(test::waitFor([&] { return send.stats().framesCaptured >= 150; }, 30s));
    ASSERT_TRUE(test::waitFor([&] { return receive.stats().framesPlayed >= 100; }, 30s));
    send.stop();
    receive.stop();
    const auto s = send.stats();
    const auto r = receive.stats();
    EXPECT_TRUE(s.dtx);
    EXPECT_TRUE(s.fec);
    EXPECT_GT(s.dtxPackets, s.framesCaptured / 2);   // most 20 ms of silence are DTX frames
    EXPECT_LT(s.packetsSent, s.framesCaptured / 3);  // and far fewer packets go out
    EXPECT_EQ(s.packetsSent + s.dtxSuppressed, s.packetsEncoded);
    {
        std::lock_guard lock(m);
        const auto tiny =
            std::count_if(sizes.begin(), sizes.end(), [](size_t n) { return n <= 2; });
        EXPECT_GT(tiny, 0);
        // Time runs on through what stayed home: whole 20 ms steps, forward.
        for (size_t i = 1; i < timestamps.size(); ++i) {
            const uint32_t step = timestamps[i] - timestamps[i - 1];
            EXPECT_EQ(step % 960, 0u);
            EXPECT_GT(step, 0u);
        }
    }
    // The receiver played the gaps as the sender's silence, not as losses.
    EXPECT_EQ(r.packetsReceived, s.packetsSent);
    EXPECT_GT(r.dtxSamples, 48'000u);  // over a second of it
    EXPECT_LT(r.media.concealedSamples, r.dtxSamples / 10);
    EXPECT_EQ(r.packetsLate, 0u);
}

TEST(AudioStreams, WithoutDtxInTheFmtpEverySilentFrameIsSent) {
    AudioReceiveStream receive;
    test::FakeLink link({}, [&](const RtpPacketIn& p) { receive.onPacket(p); });
    AudioSendStream send({}, [&](OutgoingFrame f) { return link.send(std::move(f)); });
    send.setMuted(true);
    send.applyPeerFmtp("minptime=10;useinbandfec=1;usedtx=0;maxaveragebitrate=1");
    std::string error;
    ASSERT_TRUE(receive.start(error)) << error;
    ASSERT_TRUE(send.start(error)) << error;
    ASSERT_TRUE(test::waitFor([&] { return send.stats().framesCaptured >= 60; }, 30s));
    send.stop();
    receive.stop();
    const auto s = send.stats();
    EXPECT_FALSE(s.dtx);
    EXPECT_EQ(s.dtxPackets, 0u);
    EXPECT_EQ(s.packetsSent, s.framesCaptured);
    EXPECT_EQ(s.fmtpMalformed, 1u);  // maxaveragebitrate=1 is out of range: ignored, counted
    EXPECT_EQ(s.maxBitrateBps, 0);
}

TEST(AudioStreams, ReplaceSourceSwitchesTheToneOnOneTimeline) {
    AudioReceiveConfig rc;
    rc.probeFrequencyHz = 880;
    AudioReceiveStream receive(rc);
    std::mutex m;
    std::vector<uint32_t> timestamps;
    test::FakeLink link({}, [&](const RtpPacketIn& p) { receive.onPacket(p); });
    AudioSendConfig sc;
    sc.toneFrequencyHz = 440;
    AudioSendStream send(sc, [&](OutgoingFrame f) {
        {
            std::lock_guard lock(m);
            timestamps.push_back(f.packets[0].rtpTimestamp);
        }
        return link.send(std::move(f));
    });
    std::string error;
    ASSERT_TRUE(receive.start(error)) << error;
    ASSERT_TRUE(send.start(error)) << error;
    ASSERT_TRUE(test::waitFor(
        [&] {
            const auto s = receive.stats();
            return s.framesAnalysed >= 40 && std::abs(s.estimatedFrequencyHz - 440) < 5;
        },
        30s));
    EXPECT_EQ(receive.stats().toneFrames, 0u);  // the probe listens for 880 Hz
    AudioSourceSpec spec;
    spec.toneFrequencyHz = 880;
    ASSERT_TRUE(send.replaceSource(spec, error)) << error;
    ASSERT_TRUE(test::waitFor(
        [&] {
            const auto s = receive.stats();
            return s.toneFrames >= 20 && std::abs(s.estimatedFrequencyHz - 880) < 5;
        },
        30s));
    send.stop();
    receive.stop();
    EXPECT_EQ(send.stats().sourceReplacements, 1u);
    std::lock_guard lock(m);
    for (size_t i = 1; i < timestamps.size(); ++i)
        EXPECT_EQ(timestamps[i] - timestamps[i - 1], 960u) << "packet " << i;
}

TEST(AudioStreams, SourceStatsFollowW3C) {
    std::mutex m;
    std::vector<CapturedMediaStats> reports;
    AudioSendConfig sc;
    sc.toneLevelDbfs = -12;  // a sine of peak −12 dBFS: RMS −15 dBFS ≈ 0.178
    AudioSendStream send(sc, [](OutgoingFrame) { return true; });
    send.setSourceStatsHook([&](const CapturedMediaStats& s) {
        std::lock_guard lock(m);
        reports.push_back(s);
    });
    std::string error;
    ASSERT_TRUE(send.start(error)) << error;
    ASSERT_TRUE(test::waitFor(
        [&] {
            std::lock_guard lock(m);
            return reports.size() >= 2;
        },
        30s));
    send.stop();
    std::lock_guard lock(m);
    const CapturedMediaStats& last = reports.back();
    EXPECT_NEAR(last.audioLevel, 0.178, 0.01);
    EXPECT_NEAR(last.totalSamplesDuration, 0.02 * 50 * double(reports.size()), 0.02);
    EXPECT_NEAR(last.totalAudioEnergy, 0.178 * 0.178 * last.totalSamplesDuration, 0.002);
    EXPECT_EQ(last.frames, 0u);  // video members stay zero
}

namespace {

struct FmtpRun {
    AudioSendStats stats;
    uint64_t stereoPackets = 0;  // TOC s bit set (RFC 6716 §3.1)
};

FmtpRun sendWithFmtp(const std::string& fmtp, int channels) {
    std::mutex m;
    FmtpRun run;
    AudioSendConfig sc;
    sc.channels = channels;
    sc.bitrateBps = 64'000;
    AudioSendStream send(sc, [&](OutgoingFrame f) {
        std::lock_guard lock(m);
        run.stereoPackets += (f.packets[0].payload[0] & 0x04) ? 1 : 0;
        return true;
    });
    send.applyPeerFmtp(fmtp);
    std::string error;
    EXPECT_TRUE(send.start(error)) << error;
    EXPECT_TRUE(test::waitFor([&] { return send.stats().packetsSent >= 60; }, 30s));
    send.stop();
    run.stats = send.stats();
    return run;
}

}  // namespace

TEST(AudioStreams, PeerFmtpCapsTheBitrateAndAsksForMono) {
    const FmtpRun capped = sendWithFmtp("maxaveragebitrate=12000;stereo=0", 2);
    const FmtpRun open = sendWithFmtp("stereo=1", 2);
    EXPECT_EQ(capped.stats.maxBitrateBps, 12000);
    EXPECT_TRUE(capped.stats.forcedMono);
    EXPECT_FALSE(open.stats.forcedMono);
    // 12 kbit/s is 30 bytes per 20 ms; 64 kbit/s is 160.
    const double cappedBytes = double(capped.stats.bytesSent) / double(capped.stats.packetsSent);
    const double openBytes = double(open.stats.bytesSent) / double(open.stats.packetsSent);
    EXPECT_LT(cappedBytes, 45);
    EXPECT_GT(openBytes, 2 * cappedBytes);
    // stereo=0: a stereo source is coded as mono; stereo=1 keeps it stereo.
    EXPECT_EQ(capped.stereoPackets, 0u);
    EXPECT_GT(open.stereoPackets, open.stats.packetsSent / 2);
}
