// AudioSendStream (a 440 Hz tone) → an in-process link → AudioReceiveStream, with real threads
// and real time (short runs): the receiver hears the tone, and conceals what the link loses.
#include <gtest/gtest.h>

#include <filesystem>

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
