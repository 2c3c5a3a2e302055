// Bilinear resampling of I420 frames: the send stream shrinks the picture when the adapter steps
// down, and the recorder fits frames of a new size into the Y4M file's one size.
#pragma once

#include "media/video/i420_frame.hpp"

namespace tincan::media {

// Resamples `src` into `dst` at width x height (dst's buffer reused); timing fields are copied.
void scaleI420(const I420View& src, I420Frame& dst, int width, int height);

}  // namespace tincan::media
