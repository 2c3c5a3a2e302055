// The Qt camera source on a machine without a camera: one clear error; and the QVideoFrame →
// I420 conversion on synthetic frames of each pixel-format family a camera may deliver.
#include <gtest/gtest.h>

#include <QCameraDevice>
#include <QCoreApplication>
#include <QMediaDevices>
#include <QVideoFrame>
#include <QVideoFrameFormat>
#include <cstring>

#include "media/capture_qt/qt_camera_source.hpp"
#include "media/capture_qt/qt_frame_convert.hpp"
#include "media/video/test_pattern.hpp"

using namespace tincan::media;

namespace {

I420Frame pattern(int w, int h) {
    TestPatternSource src(w, h, 30);
    I420Frame f;
    src.generate(f, 777'000);
    return f;
}

QVideoFrame writable(int w, int h, QVideoFrameFormat::PixelFormat format) {
    QVideoFrame f(QVideoFrameFormat(QSize(w, h), format));
    EXPECT_TRUE(f.map(QVideoFrame::WriteOnly));
    return f;
}

}  // namespace

TEST(QtCamera, NoCameraIsOneClearError) {
    if (!QMediaDevices::videoInputs().isEmpty()) GTEST_SKIP() << "this machine has a camera";
    EXPECT_TRUE(QtCameraSource::listCameras().empty());
    QtCameraSource source;
    int frames = 0;
    source.onFrame = [&](const I420View&) { ++frames; };
    std::string error;
    EXPECT_FALSE(source.start(error));
    EXPECT_EQ(error, "no camera found");
    QtCameraSource named({.deviceId = "/dev/video7"});
    EXPECT_FALSE(named.start(error));
    EXPECT_EQ(frames, 0);
}

TEST(QtFrameConvert, Nv12AndYuv420pRoundTripExactly) {
    const I420Frame src = pattern(320, 240);
    for (auto format : {QVideoFrameFormat::Format_NV12, QVideoFrameFormat::Format_NV21,
                        QVideoFrameFormat::Format_YUV420P, QVideoFrameFormat::Format_YV12}) {
        QVideoFrame qf = writable(320, 240, format);
        for (int y = 0; y < 240; ++y)
            std::memcpy(qf.bits(0) + y * qf.bytesPerLine(0), src.y() + y * 320, 320);
        const bool swap =
            format == QVideoFrameFormat::Format_NV21 || format == QVideoFrameFormat::Format_YV12;
        const uint8_t* first = swap ? src.v() : src.u();
        const uint8_t* second = swap ? src.u() : src.v();
        for (int y = 0; y < 120; ++y) {
            if (format == QVideoFrameFormat::Format_NV12 ||
                format == QVideoFrameFormat::Format_NV21) {
                uint8_t* uv = qf.bits(1) + y * qf.bytesPerLine(1);
                for (int x = 0; x < 160; ++x) {
                    uv[2 * x] = first[y * 160 + x];
                    uv[2 * x + 1] = second[y * 160 + x];
                }
            } else {
                std::memcpy(qf.bits(1) + y * qf.bytesPerLine(1), first + y * 160, 160);
                std::memcpy(qf.bits(2) + y * qf.bytesPerLine(2), second + y * 160, 160);
            }
        }
        qf.unmap();
        I420Frame out;
        std::string error;
        ASSERT_TRUE(convertToI420(qf, out, error)) << error;
        EXPECT_EQ(out.data, src.data)
            << QVideoFrameFormat::pixelFormatToString(format).toStdString();
        auto stamp = readTestPattern(out.view());
        ASSERT_TRUE(stamp);
        EXPECT_EQ(stamp->captureTimeUs, 777'000u);
    }
}

TEST(QtFrameConvert, RgbUsesBt601LimitedRange) {
    // Left half white, right half red; BGRA bytes in memory.
    QVideoFrame qf = writable(16, 4, QVideoFrameFormat::Format_BGRA8888);
    for (int y = 0; y < 4; ++y) {
        uint8_t* row = qf.bits(0) + y * qf.bytesPerLine(0);
        for (int x = 0; x < 16; ++x) {
            const bool white = x < 8;
            row[4 * x + 0] = white ? 255 : 0;  // B
            row[4 * x + 1] = white ? 255 : 0;  // G
            row[4 * x + 2] = 255;              // R
            row[4 * x + 3] = 255;
        }
    }
    qf.unmap();
    I420Frame out;
    std::string error;
    ASSERT_TRUE(convertToI420(qf, out, error)) << error;
    EXPECT_NEAR(out.y()[0], 235, 1);
    EXPECT_NEAR(out.u()[0], 128, 1);
    EXPECT_NEAR(out.v()[0], 128, 1);
    EXPECT_NEAR(out.y()[15], 82, 1);  // red: Y 82, U 90, V 240
    EXPECT_NEAR(out.u()[7], 90, 1);
    EXPECT_NEAR(out.v()[7], 240, 1);
}

TEST(QtFrameConvert, PackedYuyvKeepsLuma) {
    QVideoFrame qf = writable(8, 2, QVideoFrameFormat::Format_YUYV);
    for (int y = 0; y < 2; ++y) {
        uint8_t* row = qf.bits(0) + y * qf.bytesPerLine(0);
        for (int x = 0; x < 4; ++x) {
            row[4 * x + 0] = uint8_t(10 * x + 20);  // Y0
            row[4 * x + 1] = 100;                   // U
            row[4 * x + 2] = uint8_t(10 * x + 25);  // Y1
            row[4 * x + 3] = 200;                   // V
        }
    }
    qf.unmap();
    I420Frame out;
    std::string error;
    ASSERT_TRUE(convertToI420(qf, out, error)) << error;
    EXPECT_EQ(out.y()[0], 20);
    EXPECT_EQ(out.y()[1], 25);
    EXPECT_EQ(out.y()[8 + 7], 55);
    EXPECT_EQ(out.u()[3], 100);
    EXPECT_EQ(out.v()[3], 200);
}

TEST(QtFrameConvert, UnsupportedOrEmptyFramesAreClearErrors) {
    I420Frame out;
    std::string error;
    QVideoFrame qf(QVideoFrameFormat(QSize(16, 16), QVideoFrameFormat::Format_P010));
    EXPECT_FALSE(convertToI420(qf, out, error));
    EXPECT_NE(error.find("unsupported camera pixel format"), std::string::npos) << error;
    EXPECT_FALSE(convertToI420(QVideoFrame(), out, error));
    EXPECT_EQ(error, "empty video frame");
}

int main(int argc, char** argv) {
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QCoreApplication app(argc, argv);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
