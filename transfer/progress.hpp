// Progress of one transfer as a user sees it (a progress bar with speed and time left): a pure
// meter fed with byte counts and the caller's clock.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "core/common/time.hpp"

namespace tincan::transfer {

struct Progress {
    std::string name;
    uint64_t bytes = 0;  // transferred so far, including a resumed offset
    uint64_t size = 0;
    double bytesPerSecond = 0;          // over the last few seconds; 0 until known
    std::optional<double> secondsLeft;  // at the current speed; unset until the speed is known
};

class ProgressMeter {
public:
    // `window`: how far back the speed looks (long enough to smooth pacing bursts, short
    // enough to follow a change of path).
    ProgressMeter(std::string name, uint64_t size, uint64_t startBytes, Timestamp now,
                  Duration window = 3s);

    // Records that `bytes` have been transferred at `now` (monotonic, non-decreasing).
    Progress update(uint64_t bytes, Timestamp now);
    const Progress& last() const { return last_; }

private:
    struct Sample {
        Timestamp at;
        uint64_t bytes;
    };
    Duration window_;
    std::deque<Sample> samples_;  // at most ~17: one kept per window/16
    Progress last_;
};

}  // namespace tincan::transfer
