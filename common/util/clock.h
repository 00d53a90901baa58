// Wall-clock intervals for phase timings (steady clock: immune to NTP steps).
// Thread-safe (pure functions).
#pragma once

#include <chrono>

namespace prlm::util {

using Clock = std::chrono::steady_clock;

// Seconds elapsed since `since`.
inline double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

}  // namespace prlm::util
