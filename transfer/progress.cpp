#include "transfer/progress.hpp"

namespace tincan::transfer {

ProgressMeter::ProgressMeter(std::string name, uint64_t size, uint64_t startBytes, Timestamp now,
                             Duration window)
    : window_(window) {
    last_.name = std::move(name);
    last_.size = size;
    last_.bytes = startBytes;
    samples_.push_back({now, startBytes});
}

Progress ProgressMeter::update(uint64_t bytes, Timestamp now) {
    last_.bytes = bytes;
    if (now - samples_.back().at >= window_ / 16) samples_.push_back({now, bytes});
    // Keep one sample at or beyond the window's start, so the span covers the whole window.
    while (samples_.size() > 2 && now - samples_[1].at >= window_) samples_.pop_front();
    const Sample& first = samples_.front();
    double seconds = std::chrono::duration<double>(now - first.at).count();
    // Below 100 ms a rate is mostly noise (one pacing burst).
    if (seconds >= 0.1 && bytes >= first.bytes)
        last_.bytesPerSecond = double(bytes - first.bytes) / seconds;
    if (bytes >= last_.size)
        last_.secondsLeft = 0.0;
    else if (last_.bytesPerSecond > 0)
        last_.secondsLeft = double(last_.size - bytes) / last_.bytesPerSecond;
    else
        last_.secondsLeft.reset();
    return last_;
}

}  // namespace tincan::transfer
