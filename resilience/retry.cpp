#include "resilience/retry.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace medgate::resilience {

std::string validate(const RetryConfig& c) {
  if (c.attempts == 0)
    return "attempts must be >= 1";
  if (c.attempts > 10)
    return "attempts must be <= 10";
  if (c.backoff < Duration::zero())
    return "backoff must be >= 0";
  if (c.max_backoff < c.backoff)
    return "max_backoff must be >= backoff";
  return {};
}

Duration backoff_for(const RetryConfig& c, uint32_t retry_index, double unit_random) {
  // Double arithmetic avoids overflow of base << index for large indices.
  const double base = static_cast<double>(c.backoff.count());
  const double ceiling = std::min(static_cast<double>(c.max_backoff.count()),
                                  base * std::exp2(static_cast<double>(retry_index)));
  const double u = std::clamp(unit_random, 0.0, 1.0);
  return Duration(static_cast<Duration::rep>(ceiling * u));
}

bool is_idempotent_method(std::string_view m) {
  static constexpr std::array<std::string_view, 6> kIdempotent = {"GET", "HEAD",   "OPTIONS",
                                                                  "PUT", "DELETE", "TRACE"};
  return std::find(kIdempotent.begin(), kIdempotent.end(), m) != kIdempotent.end();
}

std::string_view to_string(RetryVerdict v) {
  switch (v) {
    case RetryVerdict::retry:
      return "retry";
    case RetryVerdict::succeeded:
      return "succeeded";
    case RetryVerdict::not_retriable:
      return "not_retriable";
    case RetryVerdict::unsafe:
      return "unsafe";
    case RetryVerdict::attempts_exhausted:
      return "attempts_exhausted";
    case RetryVerdict::deadline:
      return "deadline";
    case RetryVerdict::budget_exhausted:
      return "budget_exhausted";
  }
  return "unknown";
}

RetryDecision decide_retry(const RetryConfig& c, const AttemptOutcome& outcome,
                           const RetryRequest& req, RetryBudget* budget) {
  bool retriable = false;
  bool never_sent = false;
  switch (outcome.failure) {
    case FailureKind::none: {
      const auto& s = c.on.statuses;
      if (std::find(s.begin(), s.end(), outcome.status) == s.end())
        return {outcome.status < 500 ? RetryVerdict::succeeded : RetryVerdict::not_retriable};
      retriable = true;
      break;
    }
    case FailureKind::connect_failed:
      retriable = c.on.connect_failure;
      never_sent = true;
      break;
    case FailureKind::reset:
      retriable = c.on.reset;
      break;
    case FailureKind::timeout:
      retriable = c.on.timeout;
      break;
  }
  if (!retriable)
    return {RetryVerdict::not_retriable};
  // A request that never left can always be sent again; otherwise it must be idempotent.
  if (!never_sent && !req.idempotent)
    return {RetryVerdict::unsafe};
  if (req.attempts_made >= c.attempts)
    return {RetryVerdict::attempts_exhausted};
  const Duration wait = backoff_for(c, req.attempts_made - 1, req.unit_random);
  if (req.now + wait >= req.deadline)
    return {RetryVerdict::deadline};
  if (budget != nullptr && !budget->try_spend())
    return {RetryVerdict::budget_exhausted};
  return {RetryVerdict::retry, wait};
}

}  // namespace medgate::resilience
