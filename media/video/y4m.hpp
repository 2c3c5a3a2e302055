// YUV4MPEG2 (.y4m) files of I420 frames: what `--record` writes of received video, what
// Chromium's fake camera can play, and what tests read back. One size for the whole file (the
// format has no way to change it), 4:2:0 only.
#pragma once

#include <string>

#include "media/common/file_ptr.hpp"
#include "media/video/i420_frame.hpp"

namespace tincan::media {

class Y4mWriter {
public:
    // Opens (truncates) the file; false with error() set when it cannot.
    bool open(const std::string& path, int fps);
    // Writes one frame. The first frame fixes the size; a frame of another size is refused
    // (returns false, counted in framesRefused()).
    bool write(const I420View& frame);
    void close();

    const std::string& error() const { return error_; }
    uint64_t framesWritten() const { return framesWritten_; }
    uint64_t framesRefused() const { return framesRefused_; }

private:
    FilePtr file_;
    int fps_ = 30;
    int width_ = 0;
    int height_ = 0;
    uint64_t framesWritten_ = 0;
    uint64_t framesRefused_ = 0;
    std::string error_;
};

class Y4mReader {
public:
    // Opens the file and parses its header (W, H, F; C must be a 4:2:0 form if present).
    bool open(const std::string& path);
    // Reads the next frame into `out`; false at the end of the file or on a damaged frame.
    bool read(I420Frame& out);

    int width() const { return width_; }
    int height() const { return height_; }
    int fpsNum() const { return fpsNum_; }
    int fpsDen() const { return fpsDen_; }
    const std::string& error() const { return error_; }

private:
    FilePtr file_;
    int width_ = 0;
    int height_ = 0;
    int fpsNum_ = 30;
    int fpsDen_ = 1;
    std::string error_;
};

}  // namespace tincan::media
