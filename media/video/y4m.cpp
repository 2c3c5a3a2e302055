#include "media/video/y4m.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace tincan::media {

bool Y4mWriter::open(const std::string& path, int fps) {
    file_.reset(std::fopen(path.c_str(), "wb"));
    if (!file_) {
        error_ = fmt::format("cannot write {}: {}", path, std::strerror(errno));
        return false;
    }
    fps_ = fps > 0 ? fps : 30;
    width_ = height_ = 0;
    return true;
}

static bool writePlane(std::FILE* f, const uint8_t* p, int stride, int w, int h) {
    for (int row = 0; row < h; ++row)
        if (std::fwrite(p + size_t(row) * stride, 1, size_t(w), f) != size_t(w)) return false;
    return true;
}

bool Y4mWriter::write(const I420View& frame) {
    if (!file_) {
        error_ = "not open";
        return false;
    }
    if (width_ == 0) {
        width_ = frame.width;
        height_ = frame.height;
        fmt::print(file_.get(), "YUV4MPEG2 W{} H{} F{}:1 Ip A1:1 C420jpeg\n", width_, height_,
                   fps_);
    } else if (frame.width != width_ || frame.height != height_) {
        ++framesRefused_;
        error_ =
            fmt::format("frame {}x{} in a {}x{} file", frame.width, frame.height, width_, height_);
        return false;
    }
    std::fputs("FRAME\n", file_.get());
    const bool ok =
        writePlane(file_.get(), frame.y, frame.strideY, frame.width, frame.height) &&
        writePlane(file_.get(), frame.u, frame.strideU, frame.chromaWidth(),
                   frame.chromaHeight()) &&
        writePlane(file_.get(), frame.v, frame.strideV, frame.chromaWidth(), frame.chromaHeight());
    if (!ok) {
        error_ = fmt::format("write failed: {}", std::strerror(errno));
        return false;
    }
    ++framesWritten_;
    return true;
}

void Y4mWriter::close() {
    file_.reset();
}

bool Y4mReader::open(const std::string& path) {
    file_.reset(std::fopen(path.c_str(), "rb"));
    if (!file_) {
        error_ = fmt::format("cannot read {}: {}", path, std::strerror(errno));
        return false;
    }
    char line[256];
    if (!std::fgets(line, sizeof line, file_.get()) || std::strncmp(line, "YUV4MPEG2 ", 10) != 0) {
        error_ = "not a YUV4MPEG2 file";
        return false;
    }
    std::istringstream in(line + 10);
    std::string tok;
    while (in >> tok) {
        if (tok[0] == 'W')
            width_ = std::atoi(tok.c_str() + 1);
        else if (tok[0] == 'H')
            height_ = std::atoi(tok.c_str() + 1);
        else if (tok[0] == 'F')
            std::sscanf(tok.c_str() + 1, "%d:%d", &fpsNum_, &fpsDen_);
        else if (tok[0] == 'C' && tok.rfind("C420", 0) != 0) {
            error_ = fmt::format("colour space {} is not 4:2:0", tok);
            return false;
        }
    }
    if (width_ <= 0 || height_ <= 0 || width_ > 16384 || height_ > 16384) {
        error_ = "bad frame size in header";
        return false;
    }
    return true;
}

bool Y4mReader::read(I420Frame& out) {
    if (!file_) return false;
    char line[256];
    if (!std::fgets(line, sizeof line, file_.get())) return false;  // end of file
    if (std::strncmp(line, "FRAME", 5) != 0) {
        error_ = "missing FRAME marker";
        return false;
    }
    out.resize(width_, height_);
    if (std::fread(out.data.data(), 1, out.data.size(), file_.get()) != out.data.size()) {
        error_ = "truncated frame";
        return false;
    }
    return true;
}

}  // namespace tincan::media
