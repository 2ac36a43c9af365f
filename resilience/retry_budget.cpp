#include "resilience/retry_budget.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace medgate::resilience {
namespace {
constexpr uint32_t kBuckets = 10;
}

std::string validate(const RetryBudgetConfig& c) {
  if (!(c.ratio >= 0.0 && c.ratio <= 10.0))
    return "budget must be within [0, 10]";
  if (c.window < std::chrono::milliseconds(kBuckets))
    return "budget_window must be >= 10ms";
  return {};
}

RetryBudget::RetryBudget(RetryBudgetConfig config, const Clock& clock)
    : config_(config), clock_(clock), window_(kBuckets, config.window / kBuckets) {
  if (auto err = validate(config_); !err.empty())
    throw std::invalid_argument(err);
}

void RetryBudget::record_request() {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  window_.add(now, Counts{1, 0});
}

uint32_t RetryBudget::allowed(const Counts& c) const {
  const auto by_ratio = static_cast<uint32_t>(std::floor(config_.ratio * c.requests));
  return std::max(config_.min_retries, by_ratio);
}

bool RetryBudget::try_spend() {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  const Counts& c = window_.totals(now);
  if (c.retries >= allowed(c)) {
    ++exhausted_;
    return false;
  }
  window_.add(now, Counts{0, 1});
  return true;
}

RetryBudgetSnapshot RetryBudget::snapshot() {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  const Counts& c = window_.totals(now);
  return {c.requests, c.retries, allowed(c), exhausted_};
}

}  // namespace medgate::resilience
