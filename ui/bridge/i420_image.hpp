// Decoded video (I420, BT.601 video range, what VP8 gives) to a QImage the widgets can paint.
// Runs on the media threads, never on the UI thread; `step` > 1 keeps every step-th pixel of
// each row and column (a self view needs no more), which costs step² less.
#pragma once

#include <QImage>

#include "media/video/i420_frame.hpp"

namespace tincan::ui {

// RGB32; a null image when the view is empty or malformed (no planes, odd strides).
QImage i420ToImage(const media::I420View& frame, int step = 1);

}  // namespace tincan::ui
