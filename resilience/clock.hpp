// Time source for every policy. Policies never read the system clock themselves, so tests
// drive them with a fake clock and every transition is reproducible.
#pragma once

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

}  // namespace medgate::resilience
