#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include "media/audio/opus_codec.hpp"
#include "media/audio/time_stretch.hpp"
#include "media/audio/tone.hpp"
#include "media/audio/wav.hpp"

using namespace tincan;
using namespace tincan::media;

namespace {

// The frequency among `candidates` with the most power in `pcm`.
double dominant(std::span<const int16_t> pcm, int channels,
                std::initializer_list<double> candidates) {
    double best = 0, bestPower = -1;
    for (double f : candidates) {
        const double p = goertzelPower(pcm, channels, f);
        if (p > bestPower) bestPower = p, best = f;
    }
    return best;
}

std::string tempPath(const char* name) {
    return (std::filesystem::temp_directory_path() /
            (std::string("tincan_") + std::to_string(::getpid()) + name))
        .string();
}

}  // namespace

TEST(Tone, GoertzelFindsTheToneAndItsLevel) {
    ToneSource tone(1000, -6.0);
    AudioFrame f;
    tone.fill(f, 960);
    EXPECT_EQ(f.rtpTimestamp, 0u);
    EXPECT_EQ(dominant(f.data(), 1, {500, 800, 1000, 1200, 2000}), 1000);
    EXPECT_GT(goertzelPower(f.data(), 1, 1000), 100 * goertzelPower(f.data(), 1, 1500));
    // A sine with peak −6 dBFS has an RMS of −9 dBFS.
    EXPECT_NEAR(rmsDbfs(f.data(), 1), -9.03, 0.1);
    tone.fill(f, 480);
    EXPECT_EQ(f.rtpTimestamp, 960u);
    EXPECT_EQ(f.samplesPerChannel, 480);
    AudioFrame silent;
    EXPECT_EQ(rmsDbfs(silent.data(), 1), -120);
}

TEST(Tone, StereoFillsBothChannels) {
    ToneSource tone(440, -12.0, 2);
    AudioFrame f;
    tone.fill(f);
    ASSERT_EQ(f.channels, 2);
    for (int i = 0; i < f.samplesPerChannel; ++i)
        EXPECT_EQ(f.samples[size_t(2 * i)], f.samples[size_t(2 * i + 1)]);
    EXPECT_EQ(dominant(f.data(), 2, {220, 440, 880}), 440);
}

TEST(TimeStretch, KeepsThePitchWhileChangingTheLength) {
    ToneSource tone(600, -6.0);
    AudioFrame f;
    tone.fill(f, 960);
    std::vector<int16_t> out(1440);
    EXPECT_EQ(shortenByHalf(f.samples.data(), 960, 1, out.data()), 480);
    EXPECT_EQ(dominant(std::span(out.data(), 480), 1, {300, 450, 600, 750, 1200}), 600);
    EXPECT_EQ(lengthenByHalf(f.samples.data(), 960, 1, out.data()), 1440);
    EXPECT_EQ(dominant(std::span(out.data(), 1440), 1, {300, 450, 600, 750, 1200}), 600);
    EXPECT_EQ(out[10], f.samples[10]);  // the head is untouched
}

TEST(Opus, ToneSurvivesEncodeAndDecode) {
    for (int channels : {1, 2}) {
        OpusAudioEncoder enc;
        ASSERT_TRUE(enc.init({.channels = channels, .bitrateBps = 32'000}));
        OpusAudioDecoder dec;
        ASSERT_TRUE(dec.init(channels));
        ToneSource tone(1000, -6.0, channels);
        AudioFrame f;
        uint8_t pkt[OpusAudioEncoder::kMaxPacket];
        std::vector<int16_t> pcm(size_t(OpusAudioDecoder::kMaxSamples) * size_t(channels));
        for (int i = 0; i < 50; ++i) {
            tone.fill(f);
            const size_t n = enc.encode(f, pkt);
            ASSERT_GT(n, 2u) << enc.error();
            EXPECT_EQ(OpusAudioDecoder::packetSamples(ByteView(pkt, n)), 960);
            const int got = dec.decode(ByteView(pkt, n), pcm);
            ASSERT_EQ(got, 960);
            if (i < 10) continue;  // codec warm-up
            std::span<const int16_t> out(pcm.data(), size_t(got * channels));
            EXPECT_EQ(dominant(out, channels, {500, 800, 1000, 1250, 2000}), 1000);
            EXPECT_NEAR(rmsDbfs(out, channels), -9.03, 1.5);
        }
    }
}

TEST(Opus, BitrateAndDtxChangePacketSizes) {
    OpusAudioEncoder enc;
    ASSERT_TRUE(enc.init({.bitrateBps = 64'000, .fec = false}));
    ToneSource tone(700, -6.0);
    AudioFrame f;
    uint8_t pkt[OpusAudioEncoder::kMaxPacket];
    auto bytesFor = [&](int frames) {
        size_t total = 0;
        for (int i = 0; i < frames; ++i) {
            tone.fill(f);
            total += enc.encode(f, pkt);
        }
        return total;
    };
    bytesFor(10);
    const size_t high = bytesFor(50);
    enc.setBitrate(12'000);
    bytesFor(10);
    const size_t low = bytesFor(50);
    EXPECT_NEAR(double(high) * 8 / 1.0, 64'000, 16'000);  // 50 × 20 ms = 1 s
    EXPECT_LT(low * 3, high);

    enc.setDtx(true);
    AudioFrame silence;
    size_t dtxFrames = 0;
    for (int i = 0; i < 50; ++i)
        dtxFrames += OpusAudioEncoder::isDtx(enc.encode(silence, pkt)) ? 1 : 0;
    EXPECT_GT(dtxFrames, 30u);
}

TEST(Opus, FecRecoversALostPacketBetterThanConcealment) {
    // The tone changes pitch exactly at the lost packet: concealment can only extend the old
    // pitch, FEC carries the new one.
    OpusAudioEncoder enc;
    ASSERT_TRUE(enc.init({.bitrateBps = 32'000, .fec = true, .expectedLossPct = 20}));
    ToneSource before(400, -6.0), after(900, -6.0);
    std::vector<Bytes> packets;
    AudioFrame f;
    uint8_t pkt[OpusAudioEncoder::kMaxPacket];
    for (int i = 0; i < 40; ++i) {
        (i < 30 ? before : after).fill(f);
        packets.emplace_back(pkt, pkt + enc.encode(f, pkt));
    }
    OpusAudioEncoder plain;  // the same audio without FEC: no LBRR in its packets
    ASSERT_TRUE(plain.init({.bitrateBps = 32'000, .fec = false}));
    ToneSource again(400, -6.0);
    again.fill(f);
    EXPECT_FALSE(OpusAudioDecoder::hasFec(ByteView(pkt, plain.encode(f, pkt))));
    OpusAudioDecoder withFec, withPlc;
    ASSERT_TRUE(withFec.init(1));
    ASSERT_TRUE(withPlc.init(1));
    std::vector<int16_t> a(OpusAudioDecoder::kMaxSamples), b(OpusAudioDecoder::kMaxSamples);
    for (int i = 0; i < 31; ++i) {
        if (i == 30) {  // packet 30 is lost; 31 has arrived
            ASSERT_EQ(withFec.decodeFec(packets[31], 960, a), 960);
            ASSERT_EQ(withPlc.conceal(960, b), 960);
            break;
        }
        withFec.decode(packets[size_t(i)], a);
        withPlc.decode(packets[size_t(i)], b);
    }
    // The recovered frame's second half (after the codec's look-ahead) holds the new pitch.
    std::span<const int16_t> fecHalf(a.data() + 480, 480), plcHalf(b.data() + 480, 480);
    EXPECT_TRUE(OpusAudioDecoder::hasFec(packets[31]));
    EXPECT_GT(goertzelPower(fecHalf, 1, 900), 4 * goertzelPower(fecHalf, 1, 400));
    EXPECT_GT(goertzelPower(plcHalf, 1, 400), goertzelPower(plcHalf, 1, 900));
}

TEST(Opus, BadInputIsRefused) {
    OpusAudioDecoder dec;
    ASSERT_TRUE(dec.init(1));
    std::vector<int16_t> pcm(OpusAudioDecoder::kMaxSamples);
    EXPECT_EQ(dec.decode({}, pcm), -1);
    const uint8_t junk[] = {0xFF, 0xFF, 0xFF};  // code 3 with an impossible frame count
    EXPECT_EQ(OpusAudioDecoder::packetSamples(junk), -1);
    EXPECT_EQ(dec.decode(junk, pcm), -1);
    OpusAudioEncoder enc;
    ASSERT_TRUE(enc.init({.channels = 1}));
    AudioFrame stereo;
    stereo.channels = 2;
    uint8_t pkt[OpusAudioEncoder::kMaxPacket];
    EXPECT_EQ(enc.encode(stereo, pkt), 0u);
    EXPECT_FALSE(enc.error().empty());
}

TEST(Wav, WritesAndReadsBack) {
    const std::string path = tempPath("_tone.wav");
    ToneSource tone(500, -6.0, 2);
    std::vector<int16_t> sent;
    {
        WavWriter w;
        ASSERT_TRUE(w.open(path, 48000, 2)) << w.error();
        AudioFrame f;
        for (int i = 0; i < 5; ++i) {
            tone.fill(f);
            ASSERT_TRUE(w.write(f.data()));
            sent.insert(sent.end(), f.data().begin(), f.data().end());
        }
        EXPECT_EQ(w.framesWritten(), 5u * 960);
    }  // the destructor patches the header
    EXPECT_EQ(std::filesystem::file_size(path), 44 + sent.size() * 2);
    WavData got;
    std::string error;
    ASSERT_TRUE(readWav(path, got, error)) << error;
    EXPECT_EQ(got.rateHz, 48000);
    EXPECT_EQ(got.channels, 2);
    EXPECT_EQ(got.samples, sent);

    std::ofstream(path).write("RIFF\x04\0\0\0WAVE", 12);
    EXPECT_FALSE(readWav(path, got, error));
    EXPECT_EQ(error, "no fmt or data chunk");
    EXPECT_FALSE(readWav("/nonexistent/x.wav", got, error));
    EXPECT_NE(error.find("cannot read"), std::string::npos);
    std::filesystem::remove(path);
}
