// Media stage costs on this machine: test-pattern generation, VP8 encode and decode at 640x480
// and 1280x720 (frames per second), Opus encode and decode (× real time). The anchor is a plain
// copy of one I420 frame of the same size, measured in the same run, so figures from a busy
// machine can still be compared as ratios.
// Run: build/tests/bench/bench_media [--benchmark_filter=Vp8]
#include <benchmark/benchmark.h>

#include <vector>

#include "media/audio/opus_codec.hpp"
#include "media/audio/tone.hpp"
#include "media/video/test_pattern.hpp"
#include "media/video/vp8_decoder.hpp"
#include "media/video/vp8_encoder.hpp"

using namespace tincan;
using namespace tincan::media;

namespace {

constexpr int kPatternFrames = 30;

std::vector<I420Frame> patternFrames(int w, int h) {
    TestPatternSource src(w, h, 30);
    std::vector<I420Frame> frames(kPatternFrames);
    for (int i = 0; i < kPatternFrames; ++i) src.generate(frames[size_t(i)], i * 33'333);
    return frames;
}

int bitrateFor(int w) {
    return w >= 1280 ? 2'000'000 : 1'000'000;
}

void fpsCounter(benchmark::State& state) {
    state.counters["fps"] =
        benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_I420CopyAnchor(benchmark::State& state) {
    auto frames = patternFrames(int(state.range(0)), int(state.range(1)));
    I420Frame out;
    size_t i = 0;
    for (auto _ : state) {
        out.copyFrom(frames[i++ % frames.size()].view());
        benchmark::DoNotOptimize(out.data.data());
    }
    fpsCounter(state);
}

void BM_TestPatternGenerate(benchmark::State& state) {
    TestPatternSource src(int(state.range(0)), int(state.range(1)), 30);
    I420Frame f;
    int64_t t = 0;
    for (auto _ : state) {
        src.generate(f, t += 33'333);
        benchmark::DoNotOptimize(f.data.data());
    }
    fpsCounter(state);
}

void BM_Vp8Encode(benchmark::State& state) {
    const int w = int(state.range(0)), h = int(state.range(1));
    auto frames = patternFrames(w, h);
    Vp8Encoder enc;
    Vp8EncoderConfig c;
    c.width = w;
    c.height = h;
    c.targetBitrateBps = bitrateFor(w);
    c.cpuUsed = int(state.range(2));
    if (!enc.init(c)) {
        state.SkipWithError(enc.error().c_str());
        return;
    }
    size_t i = 0;
    for (auto _ : state) {
        auto ef = enc.encode(frames[i++ % frames.size()].view());
        benchmark::DoNotOptimize(ef);
    }
    fpsCounter(state);
    state.counters["threads"] = enc.threads();
    state.counters["kbps"] =
        double(enc.stats().bytesEncoded) * 8 * 30 / 1000 / double(enc.stats().framesEncoded);
}

void BM_Vp8Decode(benchmark::State& state) {
    const int w = int(state.range(0)), h = int(state.range(1));
    TestPatternSource src(w, h, 30);
    Vp8Encoder enc;
    Vp8EncoderConfig c;
    c.width = w;
    c.height = h;
    c.targetBitrateBps = bitrateFor(w);
    enc.init(c);
    std::vector<Bytes> stream;  // 5 s, starting with a keyframe, so the loop can restart
    I420Frame raw;
    for (int i = 0; i < 150; ++i) {
        src.generate(raw, i * 33'333);
        auto ef = enc.encode(raw.view());
        if (ef) stream.emplace_back(ef->data.begin(), ef->data.end());
    }
    Vp8Decoder dec;
    dec.init();
    size_t i = 0;
    I420View out;
    for (auto _ : state) {
        if (dec.decode(stream[i++ % stream.size()], out) != DecodeStatus::Ok)
            state.SkipWithError("decode failed");
        benchmark::DoNotOptimize(out.y);
    }
    fpsCounter(state);
}

void BM_OpusEncode(benchmark::State& state) {
    const int channels = int(state.range(0));
    OpusAudioEncoder enc;
    enc.init({.channels = channels, .bitrateBps = channels * 32'000});
    ToneSource tone(440, -6.0, channels);
    std::vector<AudioFrame> frames(50);
    for (auto& f : frames) tone.fill(f);
    uint8_t pkt[OpusAudioEncoder::kMaxPacket];
    size_t i = 0;
    for (auto _ : state) benchmark::DoNotOptimize(enc.encode(frames[i++ % frames.size()], pkt));
    state.counters["x_realtime"] =
        benchmark::Counter(double(state.iterations()) * 0.020, benchmark::Counter::kIsRate);
}

void BM_OpusDecode(benchmark::State& state) {
    const int channels = int(state.range(0));
    OpusAudioEncoder enc;
    enc.init({.channels = channels, .bitrateBps = channels * 32'000});
    ToneSource tone(440, -6.0, channels);
    AudioFrame f;
    std::vector<Bytes> packets;
    uint8_t pkt[OpusAudioEncoder::kMaxPacket];
    for (int i = 0; i < 50; ++i) {
        tone.fill(f);
        packets.emplace_back(pkt, pkt + enc.encode(f, pkt));
    }
    OpusAudioDecoder dec;
    dec.init(channels);
    std::vector<int16_t> pcm(size_t(OpusAudioDecoder::kMaxSamples * channels));
    size_t i = 0;
    for (auto _ : state) benchmark::DoNotOptimize(dec.decode(packets[i++ % packets.size()], pcm));
    state.counters["x_realtime"] =
        benchmark::Counter(double(state.iterations()) * 0.020, benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_I420CopyAnchor)->Args({640, 480})->Args({1280, 720});
BENCHMARK(BM_TestPatternGenerate)->Args({640, 480})->Args({1280, 720});
BENCHMARK(BM_Vp8Encode)
    ->Args({640, 480, -6})
    ->Args({1280, 720, -6})
    ->Args({1280, 720, -8})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Vp8Decode)->Args({640, 480})->Args({1280, 720})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_OpusEncode)->Arg(1)->Arg(2);
BENCHMARK(BM_OpusDecode)->Arg(1)->Arg(2);
