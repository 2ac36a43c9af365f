// Token-bucket rate limiter: `rate` tokens per second, holding at most `burst`.
// Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>

#include "resilience/clock.hpp"

namespace medgate::resilience {

class TokenBucket {
 public:
  // Throws std::invalid_argument unless rate > 0 and burst >= 1.
  TokenBucket(double rate_per_second, double burst, const Clock& clock);

  [[nodiscard]] bool try_acquire(double tokens = 1.0);
  // When `tokens` will be available (now if they already are); a hint for Retry-After.
  [[nodiscard]] Duration wait_for(double tokens = 1.0);
  [[nodiscard]] uint64_t rejected();

 private:
  void refill(TimePoint now);

  const double rate_;  // tokens per nanosecond
  const double burst_;
  const Clock& clock_;
  std::mutex mu_;
  double tokens_;
  TimePoint last_;
  uint64_t rejected_ = 0;
};

}  // namespace medgate::resilience
