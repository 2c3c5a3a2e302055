// Time as the sans-IO state machines see it: a monotonic instant handed in by the caller.
// Nothing in core/ reads a clock except the runtime (core/net).
#pragma once

#include <chrono>

namespace tincan {

using Clock = std::chrono::steady_clock;
using Timestamp = Clock::time_point;
using Duration = Clock::duration;

using namespace std::chrono_literals;

inline double toMillis(Duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace tincan
