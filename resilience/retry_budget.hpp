// Retry budget: retries may be at most `ratio` of the requests seen in the recent window,
// plus a floor of `min_retries` per window so a quiet upstream can still be retried.
// This keeps an outage from multiplying load (Finagle-style; Envoy's budget counts
// concurrent retries instead). Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "resilience/clock.hpp"
#include "resilience/sliding_window.hpp"

namespace medgate::resilience {

struct RetryBudgetConfig {
  double ratio = 0.2;
  uint32_t min_retries = 10;  // per window (about one retry a second on a quiet upstream)
  Duration window = std::chrono::seconds(10);
};

[[nodiscard]] std::string validate(const RetryBudgetConfig& c);

struct RetryBudgetSnapshot {
  uint32_t requests = 0;
  uint32_t retries = 0;
  uint32_t allowed = 0;    // retries the window allows right now
  uint64_t exhausted = 0;  // retries refused since construction
};

class RetryBudget {
 public:
  RetryBudget(RetryBudgetConfig config, const Clock& clock);

  // Every downstream request (not attempt) counts once.
  void record_request();
  // Takes one retry from the budget; false when the budget is spent.
  [[nodiscard]] bool try_spend();
  [[nodiscard]] RetryBudgetSnapshot snapshot();

 private:
  struct Counts {
    uint32_t requests = 0;
    uint32_t retries = 0;
    Counts& operator+=(const Counts& o) {
      requests += o.requests;
      retries += o.retries;
      return *this;
    }
    Counts& operator-=(const Counts& o) {
      requests -= o.requests;
      retries -= o.retries;
      return *this;
    }
  };
  [[nodiscard]] uint32_t allowed(const Counts& c) const;

  const RetryBudgetConfig config_;
  const Clock& clock_;
  std::mutex mu_;
  TimeBuckets<Counts> window_;
  uint64_t exhausted_ = 0;
};

}  // namespace medgate::resilience
