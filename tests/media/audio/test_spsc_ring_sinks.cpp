// The hand-off ring between PortAudio's thread and the codec side, and the recording sinks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "media/audio/audio_sink.hpp"
#include "media/audio/spsc_ring.hpp"
#include "media/audio/tone.hpp"

using namespace tincan::media;

TEST(AudioSinks, NullAndWavSinksCountWhatTheyGet) {
    NullAudioSink null;
    ToneSource tone(300, -6.0);
    AudioFrame f;
    tone.fill(f);
    EXPECT_TRUE(null.write(f));
    EXPECT_EQ(null.samplesWritten(), 960u);
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("tincan_sink_" + std::to_string(::getpid()) + ".wav"))
                                 .string();
    WavAudioSink wav;
    ASSERT_TRUE(wav.open(path, 1)) << wav.error();
    EXPECT_TRUE(wav.write(f));
    EXPECT_TRUE(wav.write(f));
    wav.close();
    EXPECT_EQ(wav.samplesWritten(), 1920u);
    EXPECT_EQ(std::filesystem::file_size(path), 44u + 1920 * 2);
    std::filesystem::remove(path);
}

TEST(SpscRing, WrapsAndCountsWhatFits) {
    SpscRing<int16_t> ring(6);  // rounds up to 8
    EXPECT_EQ(ring.capacity(), 8u);
    int16_t in[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, out[10] = {};
    EXPECT_EQ(ring.write(in, 5), 5u);
    EXPECT_EQ(ring.read(out, 3), 3u);
    EXPECT_EQ(ring.write(in + 5, 5), 5u);  // wraps
    EXPECT_EQ(ring.write(in, 5), 1u);      // 7 buffered + 1 = full
    EXPECT_EQ(ring.read(out, 10), 8u);
    const int16_t expect[8] = {4, 5, 6, 7, 8, 9, 10, 1};
    EXPECT_TRUE(std::equal(out, out + 8, expect));
    EXPECT_EQ(ring.available(), 0u);
}

TEST(SpscRing, TwoThreadsHandOffEverySampleInOrder) {
    SpscRing<int16_t> ring(256);
    constexpr int kTotal = 200000;
    std::thread producer([&] {
        int16_t buf[37];
        for (int sent = 0; sent < kTotal;) {
            const int n = std::min(37, kTotal - sent);
            for (int i = 0; i < n; ++i) buf[i] = int16_t(sent + i);
            int done = 0;
            while (done < n) done += int(ring.write(buf + done, size_t(n - done)));
            sent += n;
        }
    });
    int16_t buf[53];
    int got = 0;
    bool inOrder = true;
    while (got < kTotal) {
        const size_t n = ring.read(buf, 53);
        for (size_t i = 0; i < n; ++i) inOrder = inOrder && buf[i] == int16_t(got + int(i));
        got += int(n);
    }
    producer.join();
    EXPECT_TRUE(inOrder);
}
