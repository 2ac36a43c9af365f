// Passive outlier detection for one endpoint: after N consecutive failures (5xx or
// connection errors) the endpoint is ejected for base × (number of ejections), capped.
// Each ejection-free base period afterwards forgives one ejection. The caller enforces the
// upstream-wide cap (max_ejection_percent) through record_failure's argument. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "resilience/clock.hpp"

namespace medgate::resilience {

struct OutlierConfig {
  uint32_t consecutive_failures = 5;  // 0 turns ejection off
  Duration base_ejection = std::chrono::seconds(30);
  Duration max_ejection = std::chrono::seconds(300);
  // Of an upstream's endpoints, at most this share is ejected at once (at least one may
  // always be): ejection must not empty an upstream; whole-upstream failure is the breaker's.
  uint32_t max_ejection_percent = 10;
};

// How many of `endpoints` may be ejected at once under `percent` (never less than one).
[[nodiscard]] size_t max_ejected(size_t endpoints, uint32_t percent);

[[nodiscard]] std::string validate(const OutlierConfig& c);

struct OutlierSnapshot {
  bool ejected = false;
  TimePoint ejected_until{};
  uint32_t ejections = 0;  // current multiplier
  uint64_t total_ejections = 0;
  uint32_t consecutive_failures = 0;
};

// What a detector hands to its successor in another process (see BreakerCarryOver).
struct OutlierCarryOver {
  Duration ejected_remaining{};  // zero: not ejected
  uint32_t ejections = 0;        // current multiplier
  uint64_t total_ejections = 0;
  uint32_t consecutive_failures = 0;
};

class OutlierDetector {
 public:
  OutlierDetector(OutlierConfig config, const Clock& clock);

  // Returns true when this failure ejected the endpoint. With `may_eject` false (the
  // upstream is at its ejection cap) the endpoint stays in, and the next failure asks again.
  // The ejection lasts at most `cap` (the caller bounds an upstream's last routable
  // endpoint by its breaker's open period, so ejection never outlasts the breaker).
  bool record_failure(bool may_eject = true, Duration cap = Duration::max());
  // Ends an ejection now (its active health checks pass again); false when not ejected.
  bool reinstate();
  void record_success();
  [[nodiscard]] bool ejected() const;
  [[nodiscard]] OutlierSnapshot snapshot() const;
  // Its state for a successor, and taking a predecessor's over: an ejection lasts what
  // remained of it, and the multiplier (how long the next one lasts) is kept.
  [[nodiscard]] OutlierCarryOver carry_over() const;
  void adopt(const OutlierCarryOver& from);

 private:
  void decay(TimePoint now);
  void publish();  // under mu_

  const OutlierConfig config_;
  const Clock& clock_;
  mutable std::mutex mu_;
  uint32_t consecutive_ = 0;
  uint32_t multiplier_ = 0;
  uint64_t total_ = 0;
  TimePoint until_{};
  TimePoint last_decay_{};
  // Copies written under mu_ so the per-request questions (ejected? anything to reset on
  // success?) are answered without it: every request asks them, from every thread, and
  // for a healthy endpoint the answer does not change.
  std::atomic<int64_t> until_ns_{0};
  std::atomic<bool> clean_{true};  // no failure counted and no ejection to forgive
};

}  // namespace medgate::resilience
