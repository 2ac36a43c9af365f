// Time source for every policy. Policies never read the system clock themselves, so tests
// drive them with a fake clock and every transition is reproducible.
#pragma once

#include <time.h>

#include <chrono>

namespace medgate::resilience {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual TimePoint now() const noexcept = 0;
};

// The production clock: monotonic, unaffected by wall-clock changes.
class SteadyClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const noexcept override {
    return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
  }
};

// Monotonic like SteadyClock (same epoch, so their time points compare), read from the
// kernel's last tick: a few nanoseconds instead of a full clock read (~27 ns on a
// paravirtualised VM), at the cost of the tick's resolution (clock_getres: 1-4 ms). The
// gateway's policies read the clock a dozen times per request and work in windows of
// seconds, which is what this trade is for; latency metrics keep the precise clock.
class CoarseSteadyClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const noexcept override {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return TimePoint(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
  }
};

}  // namespace medgate::resilience
