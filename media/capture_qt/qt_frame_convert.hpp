// A camera frame from Qt Multimedia (whatever pixel format the camera and backend chose) into
// I420. Planar and semi-planar YUV are copied or de-interleaved; packed YUV 4:2:2 is subsampled
// vertically; 32-bit RGB is converted with BT.601 limited-range coefficients (what VP8 and
// browsers assume for camera video).
#pragma once

#include <string>

#include "media/video/i420_frame.hpp"

class QVideoFrame;

namespace tincan::media {

// False with a readable reason for formats it does not handle or frames it cannot map.
bool convertToI420(const QVideoFrame& frame, I420Frame& out, std::string& error);

}  // namespace tincan::media
