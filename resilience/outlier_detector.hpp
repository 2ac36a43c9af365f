// Passive outlier detection for one endpoint: after N consecutive failures (5xx or
// connection errors) the endpoint is ejected for base × (number of ejections), capped.
// Each ejection-free base period afterwards forgives one ejection. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "resilience/clock.hpp"

namespace medgate::resilience {

struct OutlierConfig {
  uint32_t consecutive_failures = 5;  // 0 turns ejection off
  Duration base_ejection = std::chrono::seconds(30);
  Duration max_ejection = std::chrono::seconds(300);
};

[[nodiscard]] std::string validate(const OutlierConfig& c);

struct OutlierSnapshot {
  bool ejected = false;
  TimePoint ejected_until{};
  uint32_t ejections = 0;  // current multiplier
  uint64_t total_ejections = 0;
  uint32_t consecutive_failures = 0;
};

class OutlierDetector {
 public:
  OutlierDetector(OutlierConfig config, const Clock& clock);

  // Returns true when this failure ejected the endpoint.
  bool record_failure();
  void record_success();
  [[nodiscard]] bool ejected() const;
  [[nodiscard]] OutlierSnapshot snapshot() const;

 private:
  void decay(TimePoint now);

  const OutlierConfig config_;
  const Clock& clock_;
  mutable std::mutex mu_;
  uint32_t consecutive_ = 0;
  uint32_t multiplier_ = 0;
  uint64_t total_ = 0;
  TimePoint until_{};
  TimePoint last_decay_{};
};

}  // namespace medgate::resilience
