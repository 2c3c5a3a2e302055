// Opus DTX and the peer's fmtp: the parser (bad values dropped and counted), the encoder's DTX
// packets on silence, and the playout buffer playing a DTX stream's gaps as comfort noise, not
// as losses. Virtual time throughout.
#include <gtest/gtest.h>

#include <cmath>

#include "media/audio/audio_playout_buffer.hpp"
#include "media/audio/opus_codec.hpp"
#include "media/audio/opus_fmtp.hpp"
#include "media/audio/tone.hpp"

using namespace tincan;
using namespace tincan::media;

TEST(OpusFmtp, ParsesWhatThePeerWants) {
    const OpusFmtp f =
        parseOpusFmtp("minptime=10;useinbandfec=1; usedtx=1;stereo=0;maxaveragebitrate=24000");
    EXPECT_TRUE(f.useDtx);
    EXPECT_TRUE(f.useInbandFec);
    EXPECT_FALSE(f.stereo);
    EXPECT_EQ(f.maxAverageBitrateBps, 24000);
    EXPECT_EQ(f.malformed, 0);
    const OpusFmtp none = parseOpusFmtp("");
    EXPECT_FALSE(none.useDtx);
    EXPECT_FALSE(none.useInbandFec);
    EXPECT_FALSE(none.maxAverageBitrateBps);
}

TEST(OpusFmtp, BadValuesAreDroppedAndCounted) {
    // RFC 7587 §7.1: flags are 0 or 1, maxaveragebitrate 6000..510000.
    const OpusFmtp f = parseOpusFmtp(
        "usedtx=yes;useinbandfec=2;stereo=;maxaveragebitrate=1000000;maxaveragebitrate=12x;"
        "novalue;;unknown=7");
    EXPECT_FALSE(f.useDtx);
    EXPECT_FALSE(f.useInbandFec);
    EXPECT_FALSE(f.stereo);
    EXPECT_FALSE(f.maxAverageBitrateBps);
    EXPECT_EQ(f.malformed, 5);
}

namespace {

struct DtxEncoded {
    std::vector<Bytes> packets;  // one per 20 ms, empty when the sender kept it home
    size_t dtxFrames = 0;
};

// Speech-like tone for `toneFrames`, then silence; DTX packets after the first of a run stay
// home, as AudioSendStream does.
DtxEncoded encode(bool dtx, int toneFrames, int silentFrames) {
    OpusAudioEncoder enc;
    EXPECT_TRUE(enc.init({.bitrateBps = 32'000, .fec = true, .dtx = dtx}));
    ToneSource tone(440, -12);
    AudioFrame f;
    uint8_t pkt[OpusAudioEncoder::kMaxPacket];
    DtxEncoded out;
    bool inDtx = false;
    for (int i = 0; i < toneFrames + silentFrames; ++i) {
        tone.fill(f);
        if (i >= toneFrames) std::fill(f.samples.begin(), f.samples.end(), int16_t(0));
        const size_t n = enc.encode(f, pkt);
        EXPECT_GT(n, 0u);
        const bool isDtx = OpusAudioEncoder::isDtx(n);
        out.dtxFrames += isDtx ? 1 : 0;
        out.packets.push_back(isDtx && inDtx ? Bytes() : Bytes(pkt, pkt + n));
        inDtx = isDtx;
    }
    return out;
}

size_t sent(const DtxEncoded& e) {
    return size_t(std::count_if(e.packets.begin(), e.packets.end(),
                                [](const Bytes& b) { return !b.empty(); }));
}

}  // namespace

TEST(OpusDtx, SilenceBecomesFewTinyPackets) {
    const DtxEncoded on = encode(true, 0, 250);
    const DtxEncoded off = encode(false, 0, 250);
    // Most 20 ms frames of silence are DTX frames (2 bytes or less) with DTX on, none without.
    EXPECT_GT(on.dtxFrames, 200u);
    EXPECT_EQ(off.dtxFrames, 0u);
    // Far fewer packets go out: the first DTX frame of each run and the comfort-noise updates.
    EXPECT_EQ(sent(off), 250u);
    EXPECT_LT(sent(on), 250u / 4);
}

TEST(OpusDtx, PlayoutFillsTheGapsWithComfortNoiseNotConcealment) {
    const DtxEncoded e = encode(true, 100, 300);
    AudioPlayoutBuffer buffer;
    Timestamp now{};
    AudioFrame out;
    double tonePeakRms = 0, silentTailRms = 0;
    uint16_t seq = 100;  // the RTP layer numbers only what is sent: no gaps
    for (size_t i = 0; i < e.packets.size(); ++i) {
        if (!e.packets[i].empty())
            buffer.insert(now, {seq++, uint32_t(1000 + 960 * i), e.packets[i]});
        for (int k = 0; k < 2; ++k) {  // 10 ms pulls
            buffer.pull(now, out, kSamplesPer10Ms);
            const double rms = std::pow(10.0, rmsDbfs(out.data(), 1) / 20);
            if (i > 20 && i < 100) tonePeakRms = std::max(tonePeakRms, rms);
            if (i > 150) silentTailRms = std::max(silentTailRms, rms);
            now += std::chrono::milliseconds(10);
        }
    }
    const auto& s = buffer.stats();
    EXPECT_GT(tonePeakRms, 0.1);     // the tone played (−12 dBFS peak: RMS ≈ 0.18)
    EXPECT_LT(silentTailRms, 0.01);  // the silence stays silent (comfort noise of digital zero)
    EXPECT_GT(s.dtxPackets, 5u);
    EXPECT_GT(s.dtxSamples, 48u * 1000);  // over a second of the 6 s went by without packets
    EXPECT_EQ(s.concealedSamples, 0u);    // none of it counted as loss
    EXPECT_EQ(s.packetsLate, 0u);
    EXPECT_EQ(s.packetsMalformed, 0u);
}

TEST(OpusDtx, ALossInsideSpeechIsStillConcealment) {
    const DtxEncoded e = encode(true, 100, 0);
    AudioPlayoutBuffer buffer;
    Timestamp now{};
    AudioFrame out;
    uint16_t seq = 0;
    for (size_t i = 0; i < e.packets.size(); ++i) {
        if (i != 50) buffer.insert(now, {seq, uint32_t(960 * i), e.packets[i]});
        ++seq;
        for (int k = 0; k < 2; ++k) {
            buffer.pull(now, out, kSamplesPer10Ms);
            now += std::chrono::milliseconds(10);
        }
    }
    EXPECT_EQ(buffer.stats().dtxSamples, 0u);
    EXPECT_GT(buffer.stats().concealedSamples + buffer.stats().fecRecoveredPackets, 0u);
}
