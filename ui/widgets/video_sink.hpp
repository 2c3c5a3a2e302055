// What the media layer implements to put decoded frames on screen: it calls present() with a
// frame (any thread); the view copies it to the Qt thread and paints it. Until media is wired
// nothing calls it and the view says so.
#pragma once

#include <QImage>

namespace tincan::ui {

class VideoSink {
public:
    virtual ~VideoSink() = default;
    // Any thread. An RGB32/ARGB32 image (the media layer converts I420 to it).
    virtual void present(const QImage& frame) = 0;
};

}  // namespace tincan::ui
