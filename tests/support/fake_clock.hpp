// A clock the test moves by hand. Atomic so concurrent tests can read it safely.
#pragma once

#include <atomic>

#include "resilience/clock.hpp"

namespace medgate::testing {

class FakeClock final : public resilience::Clock {
 public:
  [[nodiscard]] resilience::TimePoint now() const noexcept override {
    return resilience::TimePoint(resilience::Duration(ns_.load(std::memory_order_relaxed)));
  }
  void advance(resilience::Duration d) { ns_.fetch_add(d.count(), std::memory_order_relaxed); }

 private:
  // Starts well away from zero so "time_point{}" never looks like a real instant.
  std::atomic<int64_t> ns_{1'000'000'000'000};
};

}  // namespace medgate::testing
