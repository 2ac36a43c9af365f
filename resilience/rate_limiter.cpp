#include "resilience/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace medgate::resilience {

TokenBucket::TokenBucket(double rate_per_second, double burst, const Clock& clock)
    : rate_(rate_per_second / 1e9),
      burst_(burst),
      clock_(clock),
      tokens_(burst),
      last_(clock.now()) {
  if (!(rate_per_second > 0.0))
    throw std::invalid_argument("rate must be > 0");
  if (!(burst >= 1.0))
    throw std::invalid_argument("burst must be >= 1");
}

void TokenBucket::refill(TimePoint now) {
  if (now <= last_)
    return;
  const auto elapsed = static_cast<double>((now - last_).count());
  tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
  last_ = now;
}

bool TokenBucket::try_acquire(double tokens) {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  refill(now);
  if (tokens_ >= tokens) {
    tokens_ -= tokens;
    return true;
  }
  ++rejected_;
  return false;
}

Duration TokenBucket::wait_for(double tokens) {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  refill(now);
  if (tokens_ >= tokens)
    return Duration::zero();
  return Duration(static_cast<Duration::rep>(std::ceil((tokens - tokens_) / rate_)));
}

uint64_t TokenBucket::rejected() {
  std::lock_guard lock(mu_);
  return rejected_;
}

}  // namespace medgate::resilience
