// Decoded video (I420, BT.601 video range, what VP8 gives) to a QImage the widgets can paint.
// Runs on the media threads, never on the UI thread. With `fit`, the picture is resampled
// (nearest pixel) to the largest size inside `fit` with the frame's aspect ratio — the size the
// view will draw it at — so the UI thread only copies pixels instead of scaling every frame.
#pragma once

#include <QImage>
#include <QSize>

#include "media/video/i420_frame.hpp"

namespace tincan::ui {

// RGB32; a null image when the view is empty or malformed (no planes, short strides).
QImage i420ToImage(const media::I420View& frame, QSize fit = {});

}  // namespace tincan::ui
