#include "media/video/y4m.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "media/video/test_pattern.hpp"

using namespace tincan::media;

namespace {
std::string tempPath(const char* name) {
    return (std::filesystem::temp_directory_path() /
            (std::string("tincan_") + std::to_string(::getpid()) + name))
        .string();
}
}  // namespace

TEST(Y4m, WritesAndReadsBackIdenticalFrames) {
    const std::string path = tempPath("_rt.y4m");
    TestPatternSource src(320, 240, 25);
    std::vector<I420Frame> sent(3);
    Y4mWriter w;
    ASSERT_TRUE(w.open(path, 25)) << w.error();
    for (int i = 0; i < 3; ++i) {
        src.generate(sent[i], i * 40'000);
        ASSERT_TRUE(w.write(sent[i].view()));
    }
    w.close();
    EXPECT_EQ(w.framesWritten(), 3u);
    EXPECT_EQ(std::filesystem::file_size(path),
              3 * (6 + sent[0].data.size()) +
                  std::string("YUV4MPEG2 W320 H240 F25:1 Ip A1:1 C420jpeg\n").size());

    Y4mReader r;
    ASSERT_TRUE(r.open(path)) << r.error();
    EXPECT_EQ(r.width(), 320);
    EXPECT_EQ(r.height(), 240);
    EXPECT_EQ(r.fpsNum(), 25);
    I420Frame got;
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(r.read(got)) << r.error();
        EXPECT_EQ(got.data, sent[i].data);
        auto s = readTestPattern(got.view());
        ASSERT_TRUE(s);
        EXPECT_EQ(s->counter, uint32_t(i));
    }
    EXPECT_FALSE(r.read(got));  // end of file
    std::filesystem::remove(path);
}

TEST(Y4m, RefusesAFrameOfAnotherSize) {
    const std::string path = tempPath("_size.y4m");
    Y4mWriter w;
    ASSERT_TRUE(w.open(path, 30));
    I420Frame a, b;
    a.resize(160, 120);
    b.resize(320, 240);
    EXPECT_TRUE(w.write(a.view()));
    EXPECT_FALSE(w.write(b.view()));
    EXPECT_EQ(w.framesRefused(), 1u);
    EXPECT_EQ(w.framesWritten(), 1u);
    std::filesystem::remove(path);
}

TEST(Y4m, ClearErrorsForBadFiles) {
    Y4mReader r;
    EXPECT_FALSE(r.open("/nonexistent/dir/x.y4m"));
    EXPECT_NE(r.error().find("cannot read"), std::string::npos);

    const std::string path = tempPath("_bad.y4m");
    std::ofstream(path) << "RIFF....";
    Y4mReader r2;
    EXPECT_FALSE(r2.open(path));
    EXPECT_EQ(r2.error(), "not a YUV4MPEG2 file");

    std::ofstream(path) << "YUV4MPEG2 W16 H16 F30:1 C444\n";
    Y4mReader r3;
    EXPECT_FALSE(r3.open(path));

    std::ofstream(path) << "YUV4MPEG2 W16 H16 F30:1\nFRAME\nabc";
    Y4mReader r4;
    ASSERT_TRUE(r4.open(path));
    I420Frame f;
    EXPECT_FALSE(r4.read(f));
    EXPECT_EQ(r4.error(), "truncated frame");
    std::filesystem::remove(path);

    Y4mWriter w;
    EXPECT_FALSE(w.open("/nonexistent/dir/x.y4m", 30));
    EXPECT_NE(w.error().find("cannot write"), std::string::npos);
}
