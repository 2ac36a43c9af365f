#include "resilience/retry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "tests/support/fake_clock.hpp"

namespace medgate::resilience {
namespace {

using namespace std::chrono_literals;

RetryRequest req(uint32_t attempts_made, bool idempotent = true) {
  RetryRequest r;
  r.idempotent = idempotent;
  r.attempts_made = attempts_made;
  r.now = TimePoint(1000s);
  r.deadline = TimePoint(2000s);
  r.unit_random = 0.5;
  return r;
}

TEST(Backoff, GrowsExponentiallyUpToCap) {
  RetryConfig c;
  c.backoff = 100ms;
  c.max_backoff = 1s;
  // With unit_random just under 1 the result approaches the ceiling.
  EXPECT_NEAR(backoff_for(c, 0, 0.999999).count(), Duration(100ms).count(), 1e3);
  EXPECT_NEAR(backoff_for(c, 1, 0.999999).count(), Duration(200ms).count(), 1e3);
  EXPECT_NEAR(backoff_for(c, 3, 0.999999).count(), Duration(800ms).count(), 1e4);
  EXPECT_NEAR(backoff_for(c, 4, 0.999999).count(), Duration(1s).count(), 1e4);
  EXPECT_NEAR(backoff_for(c, 60, 0.999999).count(), Duration(1s).count(), 1e4);  // no overflow
  EXPECT_EQ(backoff_for(c, 2, 0.0), Duration::zero());
}

TEST(Backoff, JitterStaysWithinBounds) {
  RetryConfig c;
  c.backoff = 25ms;
  c.max_backoff = 250ms;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (uint32_t k = 0; k < 8; ++k) {
    const Duration ceiling = std::min<Duration>(c.max_backoff, c.backoff * (1 << k));
    Duration lo = Duration::max(), hi = Duration::zero();
    for (int i = 0; i < 2000; ++i) {
      const Duration d = backoff_for(c, k, u(rng));
      ASSERT_GE(d, Duration::zero());
      ASSERT_LT(d, ceiling);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    // Full jitter really spreads across the range.
    EXPECT_LT(lo, ceiling / 10);
    EXPECT_GT(hi, ceiling * 9 / 10);
  }
}

TEST(IdempotentMethods, FollowRfc9110) {
  for (auto m : {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
    EXPECT_TRUE(is_idempotent_method(m)) << m;
  for (auto m : {"POST", "PATCH", "CONNECT", "get"})
    EXPECT_FALSE(is_idempotent_method(m)) << m;
}

TEST(DecideRetry, SuccessAndClientErrorsAreNotRetried) {
  RetryConfig c;
  EXPECT_EQ(decide_retry(c, {FailureKind::none, 200}, req(1), nullptr).verdict,
            RetryVerdict::succeeded);
  EXPECT_EQ(decide_retry(c, {FailureKind::none, 404}, req(1), nullptr).verdict,
            RetryVerdict::succeeded);
  EXPECT_EQ(decide_retry(c, {FailureKind::none, 500}, req(1), nullptr).verdict,
            RetryVerdict::not_retriable);  // 500 not in the default list
}

TEST(DecideRetry, ListedStatusIsRetriedWithBackoff) {
  RetryConfig c;
  const auto d = decide_retry(c, {FailureKind::none, 503}, req(1), nullptr);
  EXPECT_TRUE(d.retry());
  EXPECT_EQ(d.backoff, 50ms);  // 100 ms ceiling × 0.5
}

TEST(DecideRetry, AttemptsAreExhaustedExactlyAtLimit) {
  RetryConfig c;
  c.attempts = 3;
  EXPECT_TRUE(decide_retry(c, {FailureKind::timeout}, req(2), nullptr).retry());
  EXPECT_EQ(decide_retry(c, {FailureKind::timeout}, req(3), nullptr).verdict,
            RetryVerdict::attempts_exhausted);
  c.attempts = 1;
  EXPECT_EQ(decide_retry(c, {FailureKind::connect_failed}, req(1), nullptr).verdict,
            RetryVerdict::attempts_exhausted);
}

TEST(DecideRetry, NonIdempotentIsRetriedOnlyWhenNeverSent) {
  RetryConfig c;
  EXPECT_TRUE(decide_retry(c, {FailureKind::connect_failed}, req(1, false), nullptr).retry());
  EXPECT_EQ(decide_retry(c, {FailureKind::reset}, req(1, false), nullptr).verdict,
            RetryVerdict::unsafe);
  EXPECT_EQ(decide_retry(c, {FailureKind::timeout}, req(1, false), nullptr).verdict,
            RetryVerdict::unsafe);
  EXPECT_EQ(decide_retry(c, {FailureKind::none, 503}, req(1, false), nullptr).verdict,
            RetryVerdict::unsafe);
}

TEST(DecideRetry, ConditionsCanBeTurnedOff) {
  RetryConfig c;
  c.on.reset = false;
  c.on.timeout = false;
  c.on.connect_failure = false;
  c.on.statuses.clear();
  for (auto k : {FailureKind::reset, FailureKind::timeout, FailureKind::connect_failed})
    EXPECT_EQ(decide_retry(c, {k}, req(1), nullptr).verdict, RetryVerdict::not_retriable);
  EXPECT_EQ(decide_retry(c, {FailureKind::none, 503}, req(1), nullptr).verdict,
            RetryVerdict::not_retriable);
}

TEST(DecideRetry, BackoffPastDeadlineGivesUp) {
  RetryConfig c;
  auto r = req(1);
  r.unit_random = 0.999;
  r.deadline = r.now + 99ms;  // back-off would be ~99.9 ms
  EXPECT_EQ(decide_retry(c, {FailureKind::timeout}, r, nullptr).verdict, RetryVerdict::deadline);
  r.deadline = r.now + 101ms;
  EXPECT_TRUE(decide_retry(c, {FailureKind::timeout}, r, nullptr).retry());
}

TEST(DecideRetry, BudgetIsSpentOnlyOnRetries) {
  testing::FakeClock clock;
  RetryBudget budget({.ratio = 0.0, .min_retries = 1, .window = 10s}, clock);
  RetryConfig c;
  // Not retriable: must not spend.
  (void)decide_retry(c, {FailureKind::none, 200}, req(1), &budget);
  (void)decide_retry(c, {FailureKind::timeout}, req(3), &budget);
  EXPECT_EQ(budget.snapshot().retries, 0u);
  EXPECT_TRUE(decide_retry(c, {FailureKind::timeout}, req(1), &budget).retry());
  EXPECT_EQ(decide_retry(c, {FailureKind::timeout}, req(1), &budget).verdict,
            RetryVerdict::budget_exhausted);
}

TEST(RetryBudget, AllowsRatioOfRecentRequestsWithMinimum) {
  testing::FakeClock clock;
  RetryBudget budget({.ratio = 0.2, .min_retries = 3, .window = 10s}, clock);
  // Quiet upstream: the minimum applies.
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(budget.try_spend());
  EXPECT_FALSE(budget.try_spend());
  // 50 requests: 20 % = 10 retries in the window, 3 already spent.
  for (int i = 0; i < 50; ++i)
    budget.record_request();
  int granted = 0;
  while (budget.try_spend())
    ++granted;
  EXPECT_EQ(granted, 7);
  EXPECT_EQ(budget.snapshot().allowed, 10u);
  EXPECT_EQ(budget.snapshot().exhausted, 2u);
  // The window slides: after it passes, only the minimum again.
  clock.advance(11s);
  EXPECT_EQ(budget.snapshot().requests, 0u);
  EXPECT_EQ(budget.snapshot().retries, 0u);
  EXPECT_TRUE(budget.try_spend());
}

TEST(RetryBudget, ValidatesConfig) {
  testing::FakeClock clock;
  EXPECT_THROW(RetryBudget({.ratio = -1.0}, clock), std::invalid_argument);
  EXPECT_THROW(RetryBudget({.ratio = 0.2, .min_retries = 3, .window = 1ms}, clock),
               std::invalid_argument);
}

TEST(RetryConfigValidation, NamesTheField) {
  RetryConfig c;
  c.attempts = 0;
  EXPECT_THAT(validate(c), ::testing::HasSubstr("attempts"));
  c = {};
  c.max_backoff = 1ms;
  EXPECT_THAT(validate(c), ::testing::HasSubstr("max_backoff"));
  EXPECT_EQ(validate(RetryConfig{}), "");
}

}  // namespace
}  // namespace medgate::resilience
