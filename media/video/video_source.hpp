// A push source of raw frames (a camera). Synthetic sources are pulled instead (TestPatternSource),
// so that tests and the sans-IO simulator drive them from virtual time.
#pragma once

#include <functional>
#include <string>

#include "media/video/i420_frame.hpp"

namespace tincan::media {

class VideoSource {
public:
    virtual ~VideoSource() = default;

    // Starts delivering frames to onFrame (on a thread of the source's choosing). Returns false
    // with a reason a user can read ("no camera found") when it cannot.
    virtual bool start(std::string& error) = 0;
    virtual void stop() = 0;

    // The view is valid only during the call.
    std::function<void(const I420View&)> onFrame;
    // The device went away mid-stream (unplugged): the call goes on without video.
    std::function<void(const std::string& reason)> onError;
};

}  // namespace tincan::media
