// The desktop app's per-frame video cost (ui/bridge/i420_image, ui/widgets/video_view): what the
// UI thread pays to paint a 640x480 frame into a 733x550 view when the frame arrives at its own
// size and is scaled while painting (the anchor: SmoothPixmapTransform, as VideoView did before
// frames were fitted), against a frame converted to the view's size on the media thread (a plain
// copy); and the media thread's I420 → RGB conversion at both sizes. Raster paint device, as the
// offscreen platform and most X11 setups use. Run: build/tests/bench/bench_video_paint
#include <benchmark/benchmark.h>

#include <QImage>
#include <QPainter>

#include "media/video/test_pattern.hpp"
#include "ui/bridge/i420_image.hpp"

namespace {

const QSize kView(733, 550);

tincan::media::I420Frame& frame() {
    static tincan::media::I420Frame f = [] {
        tincan::media::I420Frame out;
        tincan::media::TestPatternSource(640, 480, 30).generate(out, 1'000'000);
        return out;
    }();
    return f;
}

void BM_UiPaintScaledAnchor(benchmark::State& state) {
    const QImage image = tincan::ui::i420ToImage(frame().view());
    QImage target(kView, QImage::Format_RGB32);
    const QRect rect(QPoint(0, 0), image.size().scaled(kView, Qt::KeepAspectRatio));
    for (auto _ : state) {
        QPainter p(&target);
        p.setRenderHint(QPainter::SmoothPixmapTransform);
        p.drawImage(rect, image);
    }
}
BENCHMARK(BM_UiPaintScaledAnchor)->Unit(benchmark::kMicrosecond);

void BM_UiPaintFitted(benchmark::State& state) {
    const QImage image = tincan::ui::i420ToImage(frame().view(), kView);
    QImage target(kView, QImage::Format_RGB32);
    for (auto _ : state) {
        QPainter p(&target);
        p.drawImage(QPoint(0, 0), image);
    }
}
BENCHMARK(BM_UiPaintFitted)->Unit(benchmark::kMicrosecond);

void BM_MediaConvertOwnSize(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(tincan::ui::i420ToImage(frame().view()));
}
BENCHMARK(BM_MediaConvertOwnSize)->Unit(benchmark::kMicrosecond);

void BM_MediaConvertFitted(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(tincan::ui::i420ToImage(frame().view(), kView));
}
BENCHMARK(BM_MediaConvertFitted)->Unit(benchmark::kMicrosecond);

}  // namespace
