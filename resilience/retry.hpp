// Retry decisions: when a failed attempt may be tried again, and after how long.
// Pure: the caller supplies the time and the randomness, and acts on the decision.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "resilience/clock.hpp"
#include "resilience/retry_budget.hpp"

namespace medgate::resilience {

// What happened to one attempt.
enum class FailureKind : uint8_t {
  none,            // got a response (see status)
  connect_failed,  // refused / unreachable / connect timeout: no byte of the request left us
  reset,           // connection dropped after the request may have been sent
  timeout,         // no (complete) response within the per-try timeout
};

struct AttemptOutcome {
  FailureKind failure = FailureKind::none;
  unsigned status = 0;  // HTTP status when failure == none
};

struct RetryOn {
  bool connect_failure = true;
  bool reset = true;
  bool timeout = true;
  std::vector<unsigned> statuses = {502, 503, 504};
};

struct RetryConfig {
  uint32_t attempts = 3;                              // total, including the first; 1 = never retry
  Duration backoff = std::chrono::milliseconds(100);  // base of the exponential
  Duration max_backoff = std::chrono::seconds(1);     // cap before jitter
  RetryOn on;
};

[[nodiscard]] std::string validate(const RetryConfig& c);

// Fully-jittered exponential back-off: uniform in [0, min(max, base * 2^retry_index)).
// `unit_random` is in [0, 1).
[[nodiscard]] Duration backoff_for(const RetryConfig& c, uint32_t retry_index, double unit_random);

// Whether a request may be sent twice without harm: idempotent method (RFC 9110 §9.2.2)
// or a client-supplied Idempotency-Key.
[[nodiscard]] bool is_idempotent_method(std::string_view method);

enum class RetryVerdict : uint8_t {
  retry,
  succeeded,      // nothing to retry
  not_retriable,  // this outcome is not among the configured conditions
  unsafe,         // may have reached the upstream and the request is not idempotent
  attempts_exhausted,
  deadline,          // the back-off would end past the overall deadline
  budget_exhausted,  // the retry budget refuses (outage in progress)
};
[[nodiscard]] std::string_view to_string(RetryVerdict v);

struct RetryDecision {
  RetryVerdict verdict = RetryVerdict::succeeded;
  Duration backoff{};  // valid when verdict == retry
  [[nodiscard]] bool retry() const { return verdict == RetryVerdict::retry; }
};

struct RetryRequest {
  bool idempotent = false;     // idempotent method or Idempotency-Key
  uint32_t attempts_made = 1;  // including the one that just finished
  TimePoint now{};
  TimePoint deadline = TimePoint::max();
  double unit_random = 0.0;  // for jitter, in [0, 1)
};

// Decides about one finished attempt. Spends from `budget` (when given) only when the
// answer is `retry`.
[[nodiscard]] RetryDecision decide_retry(const RetryConfig& c, const AttemptOutcome& outcome,
                                         const RetryRequest& req, RetryBudget* budget);

}  // namespace medgate::resilience
