#include "resilience/circuit_breaker.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/fake_clock.hpp"

namespace medgate::resilience {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using ::testing::HasSubstr;

CircuitBreakerConfig consecutive_only(uint32_t n) {
  CircuitBreakerConfig c;
  c.consecutive_failures = n;
  c.failure_rate_threshold = 0.0;
  c.open_for = 10s;
  c.half_open_calls = 2;
  return c;
}

void call(CircuitBreaker& b, CallResult r) {
  auto p = b.try_acquire();
  ASSERT_TRUE(p) << "call refused in state " << to_string(b.state());
  p.record(r);
}

class CircuitBreakerTest : public ::testing::Test {
 protected:
  FakeClock clock;
};

TEST_F(CircuitBreakerTest, ProbeNowEndsTheOpenPeriodOnlyWhenOpen) {
  CircuitBreaker b(consecutive_only(2), clock);
  b.probe_now("health checks pass");  // closed: nothing to do
  EXPECT_EQ(b.state(), BreakerState::closed);
  call(b, CallResult::failure);
  call(b, CallResult::failure);
  ASSERT_EQ(b.state(), BreakerState::open);
  clock.advance(1s);  // far from open_for (10 s)
  b.probe_now("health checks pass again on http://x");
  EXPECT_EQ(b.state(), BreakerState::half_open);
  const auto snap = b.snapshot();
  ASSERT_FALSE(snap.recent.empty());
  EXPECT_THAT(snap.recent.back().reason, HasSubstr("probing early: health checks pass"));
  call(b, CallResult::success);
  call(b, CallResult::success);
  EXPECT_EQ(b.state(), BreakerState::closed);
  b.force_open("drill");
  b.probe_now("health");  // an operator's force-open is not overruled
  EXPECT_EQ(b.state(), BreakerState::forced_open);
}

TEST_F(CircuitBreakerTest, NextProbeAtIsKnownOnlyWhileOpen) {
  CircuitBreaker b(consecutive_only(1), clock);
  EXPECT_FALSE(b.next_probe_at());
  call(b, CallResult::failure);
  EXPECT_EQ(b.next_probe_at(), clock.now() + 10s);
  clock.advance(10s);
  (void)b.state();  // moves to half-open
  EXPECT_FALSE(b.next_probe_at());
}

TEST_F(CircuitBreakerTest, StartsClosedAndPermits) {
  CircuitBreaker b(consecutive_only(5), clock);
  EXPECT_EQ(b.state(), BreakerState::closed);
  EXPECT_TRUE(b.try_acquire());
}

TEST_F(CircuitBreakerTest, OpensExactlyAtConsecutiveThreshold) {
  CircuitBreaker b(consecutive_only(5), clock);
  for (int i = 0; i < 4; ++i)
    call(b, CallResult::failure);
  EXPECT_EQ(b.state(), BreakerState::closed);
  call(b, CallResult::failure);
  EXPECT_EQ(b.state(), BreakerState::open);
  EXPECT_FALSE(b.try_acquire());
  const auto snap = b.snapshot();
  ASSERT_FALSE(snap.recent.empty());
  EXPECT_EQ(snap.recent.back().from, BreakerState::closed);
  EXPECT_EQ(snap.recent.back().to, BreakerState::open);
  EXPECT_EQ(snap.recent.back().reason, "5 consecutive failures");
  EXPECT_EQ(snap.not_permitted, 1u);
}

TEST_F(CircuitBreakerTest, SuccessResetsConsecutiveCount) {
  CircuitBreaker b(consecutive_only(3), clock);
  call(b, CallResult::failure);
  call(b, CallResult::failure);
  call(b, CallResult::success);
  call(b, CallResult::failure);
  call(b, CallResult::failure);
  EXPECT_EQ(b.state(), BreakerState::closed);
  call(b, CallResult::failure);
  EXPECT_EQ(b.state(), BreakerState::open);
}

TEST_F(CircuitBreakerTest, IgnoredResultsCountNothing) {
  CircuitBreaker b(consecutive_only(2), clock);
  call(b, CallResult::failure);
  call(b, CallResult::ignored);
  EXPECT_EQ(b.snapshot().consecutive_failures, 1u);
  EXPECT_EQ(b.snapshot().window.calls, 1u);
}

TEST_F(CircuitBreakerTest, FailureRateNeedsMinimumCalls) {
  CircuitBreakerConfig c;
  c.consecutive_failures = 0;
  c.failure_rate_threshold = 0.5;
  c.window_size = 10;
  c.min_calls = 4;
  CircuitBreaker b(c, clock);
  call(b, CallResult::failure);
  call(b, CallResult::failure);
  call(b, CallResult::failure);  // 100 % but only 3 calls
  EXPECT_EQ(b.state(), BreakerState::closed);
  call(b, CallResult::success);  // 3/4 = 75 % with 4 calls
  EXPECT_EQ(b.state(), BreakerState::open);
  EXPECT_THAT(b.snapshot().recent.back().reason, HasSubstr("failure rate 75.0% >= 50.0%"));
}

TEST_F(CircuitBreakerTest, FailureRateExactlyAtThresholdTrips) {
  CircuitBreakerConfig c;
  c.consecutive_failures = 0;
  c.failure_rate_threshold = 0.5;
  c.window_size = 4;
  c.min_calls = 4;
  CircuitBreaker b(c, clock);
  call(b, CallResult::success);
  call(b, CallResult::failure);
  call(b, CallResult::success);
  EXPECT_EQ(b.state(), BreakerState::closed);
  call(b, CallResult::failure);  // 2/4 = 50 %
  EXPECT_EQ(b.state(), BreakerState::open);
}

TEST_F(CircuitBreakerTest, CountWindowForgetsOldCalls) {
  CircuitBreakerConfig c;
  c.consecutive_failures = 0;
  c.failure_rate_threshold = 0.5;
  c.window_size = 4;
  c.min_calls = 4;
  CircuitBreaker b(c, clock);
  call(b, CallResult::failure);
  for (int i = 0; i < 3; ++i)
    call(b, CallResult::success);  // 1/4
  call(b, CallResult::success);    // oldest failure rolls out: 0/4
  EXPECT_EQ(b.snapshot().window.failures, 0u);
  call(b, CallResult::failure);  // 1/4
  EXPECT_EQ(b.state(), BreakerState::closed);
}

TEST_F(CircuitBreakerTest, TimeWindowRollsOver) {
  CircuitBreakerConfig c;
  c.consecutive_failures = 0;
  c.failure_rate_threshold = 0.5;
  c.window_kind = WindowKind::time_based;
  c.window_size = 10;  // seconds
  c.min_calls = 4;
  CircuitBreaker b(c, clock);
  call(b, CallResult::failure);
  call(b, CallResult::failure);
  call(b, CallResult::failure);
  clock.advance(11s);  // the three failures age out
  EXPECT_EQ(b.snapshot().window.calls, 0u);
  call(b, CallResult::failure);
  call(b, CallResult::success);
  call(b, CallResult::success);
  call(b, CallResult::success);
  EXPECT_EQ(b.state(), BreakerState::closed);  // 1/4 only
  clock.advance(5s);
  call(b, CallResult::failure);  // 2/5 in window
  call(b, CallResult::failure);  // 3/6 = 50 %
  EXPECT_EQ(b.state(), BreakerState::open);
}

TEST_F(CircuitBreakerTest, SlowCallRateTrips) {
  CircuitBreakerConfig c;
  c.consecutive_failures = 0;
  c.failure_rate_threshold = 0.0;
  c.slow_call_rate_threshold = 0.5;
  c.slow_call_duration = 500ms;
  c.window_size = 4;
  c.min_calls = 2;
  CircuitBreaker b(c, clock);
  {
    auto p = b.try_acquire();
    clock.advance(499ms);  // just under: not slow
    p.record(CallResult::success);
  }
  {
    auto p = b.try_acquire();
    clock.advance(500ms);  // exactly at threshold: slow
    p.record(CallResult::success);
  }
  EXPECT_EQ(b.state(), BreakerState::open);
  EXPECT_THAT(b.snapshot().recent.back().reason, HasSubstr("slow-call rate 50.0%"));
}

TEST_F(CircuitBreakerTest, OpenBecomesHalfOpenAfterWait) {
  CircuitBreaker b(consecutive_only(1), clock);
  call(b, CallResult::failure);
  const auto snap = b.snapshot();
  ASSERT_TRUE(snap.next_probe_at.has_value());
  EXPECT_EQ(*snap.next_probe_at - *snap.open_since, 10s);
  clock.advance(10s - 1ns);
  EXPECT_EQ(b.state(), BreakerState::open);
  clock.advance(1ns);
  EXPECT_EQ(b.state(), BreakerState::half_open);
}

TEST_F(CircuitBreakerTest, HalfOpenLimitsProbesAndClosesWhenAllSucceed) {
  CircuitBreaker b(consecutive_only(1), clock);
  call(b, CallResult::failure);
  clock.advance(10s);
  auto p1 = b.try_acquire();
  auto p2 = b.try_acquire();
  EXPECT_TRUE(p1);
  EXPECT_TRUE(p2);
  EXPECT_FALSE(b.try_acquire());  // only two probes
  EXPECT_EQ(b.snapshot().half_open_in_flight, 2u);
  p1.record(CallResult::success);
  EXPECT_EQ(b.state(), BreakerState::half_open);
  p2.record(CallResult::success);
  EXPECT_EQ(b.state(), BreakerState::closed);
  EXPECT_EQ(b.snapshot().recent.back().reason, "2 half-open probes succeeded");
}

TEST_F(CircuitBreakerTest, HalfOpenProbeFailureReopens) {
  CircuitBreaker b(consecutive_only(1), clock);
  call(b, CallResult::failure);
  clock.advance(10s);
  auto p1 = b.try_acquire();
  auto p2 = b.try_acquire();
  p1.record(CallResult::failure);
  EXPECT_EQ(b.state(), BreakerState::open);
  EXPECT_EQ(b.snapshot().recent.back().reason, "half-open probe failed");
  p2.record(CallResult::success);  // stale probe: no effect
  EXPECT_EQ(b.state(), BreakerState::open);
}

TEST_F(CircuitBreakerTest, DroppedProbeFreesItsSlot) {
  CircuitBreaker b(consecutive_only(1), clock);
  call(b, CallResult::failure);
  clock.advance(10s);
  {
    auto p1 = b.try_acquire();
    auto p2 = b.try_acquire();
    EXPECT_FALSE(b.try_acquire());
  }  // both dropped without a result
  EXPECT_EQ(b.snapshot().half_open_in_flight, 0u);
  auto p3 = b.try_acquire();
  EXPECT_TRUE(p3) << "half-open must not get stuck after cancelled probes";
}

TEST_F(CircuitBreakerTest, IgnoredProbeFreesItsSlot) {
  CircuitBreaker b(consecutive_only(1), clock);
  call(b, CallResult::failure);
  clock.advance(10s);
  auto p1 = b.try_acquire();
  auto p2 = b.try_acquire();
  p1.record(CallResult::ignored);
  auto p3 = b.try_acquire();
  EXPECT_TRUE(p3);
  p2.record(CallResult::success);
  p3.record(CallResult::success);
  EXPECT_EQ(b.state(), BreakerState::closed);
}

TEST_F(CircuitBreakerTest, SlowProbeReopensWhenSlowRuleOn) {
  auto c = consecutive_only(1);
  c.slow_call_rate_threshold = 1.0;
  c.slow_call_duration = 1s;
  c.min_calls = 1;
  CircuitBreaker b(c, clock);
  call(b, CallResult::failure);
  clock.advance(10s);
  auto p = b.try_acquire();
  clock.advance(2s);
  p.record(CallResult::success);
  EXPECT_EQ(b.state(), BreakerState::open);
  EXPECT_THAT(b.snapshot().recent.back().reason, HasSubstr("slow"));
}

TEST_F(CircuitBreakerTest, OpenTimeGrowsWithRepeatedTripsAndIsCapped) {
  auto c = consecutive_only(1);
  c.open_for = 1s;
  c.open_backoff_multiplier = 2.0;
  c.max_open_for = 3s;
  CircuitBreaker b(c, clock);
  auto open_duration = [&] {
    auto s = b.snapshot();
    return *s.next_probe_at - *s.open_since;
  };
  call(b, CallResult::failure);
  EXPECT_EQ(open_duration(), 1s);
  clock.advance(1s);
  call(b, CallResult::failure);  // probe fails
  EXPECT_EQ(open_duration(), 2s);
  clock.advance(2s);
  call(b, CallResult::failure);
  EXPECT_EQ(open_duration(), 3s);  // 4 s capped at 3 s
  // A full recovery resets the growth.
  clock.advance(3s);
  call(b, CallResult::success);
  call(b, CallResult::success);
  ASSERT_EQ(b.state(), BreakerState::closed);
  call(b, CallResult::failure);
  EXPECT_EQ(open_duration(), 1s);
}

TEST_F(CircuitBreakerTest, ForcedOpenRefusesEverythingUntilReset) {
  CircuitBreaker b(consecutive_only(5), clock);
  b.force_open("maintenance");
  EXPECT_EQ(b.state(), BreakerState::forced_open);
  clock.advance(std::chrono::hours(24));
  EXPECT_FALSE(b.try_acquire());
  EXPECT_EQ(b.snapshot().recent.back().reason, "forced open: maintenance");
  b.reset();
  EXPECT_EQ(b.state(), BreakerState::closed);
  EXPECT_TRUE(b.try_acquire());
}

TEST_F(CircuitBreakerTest, DisabledPermitsAndNeverTrips) {
  CircuitBreaker b(consecutive_only(1), clock);
  b.disable();
  for (int i = 0; i < 100; ++i)
    call(b, CallResult::failure);
  EXPECT_EQ(b.state(), BreakerState::disabled);
}

TEST_F(CircuitBreakerTest, ForceClosedFromOpenPermitsAndKeepsMeasuring) {
  CircuitBreaker b(consecutive_only(2), clock);
  call(b, CallResult::failure);
  call(b, CallResult::failure);
  ASSERT_EQ(b.state(), BreakerState::open);
  b.force_closed();
  EXPECT_EQ(b.state(), BreakerState::closed);
  call(b, CallResult::failure);
  call(b, CallResult::failure);
  EXPECT_EQ(b.state(), BreakerState::open);
}

TEST_F(CircuitBreakerTest, ResultOfPermitIssuedBeforeOpenIsIgnoredWhileOpen) {
  CircuitBreaker b(consecutive_only(1), clock);
  auto late = b.try_acquire();
  call(b, CallResult::failure);
  ASSERT_EQ(b.state(), BreakerState::open);
  late.record(CallResult::success);
  EXPECT_EQ(b.state(), BreakerState::open);
}

TEST_F(CircuitBreakerTest, LateAnswersFromBeforeARecoveryOrAResetDoNotCount) {
  CircuitBreaker b(consecutive_only(2), clock);
  auto before_cycle = b.try_acquire();
  auto before_reset = b.try_acquire();
  call(b, CallResult::failure);
  call(b, CallResult::failure);
  ASSERT_EQ(b.state(), BreakerState::open);
  clock.advance(10s);
  call(b, CallResult::success);  // the two probes close it again
  call(b, CallResult::success);
  ASSERT_EQ(b.state(), BreakerState::closed);
  call(b, CallResult::failure);              // one failure in the new closed period
  before_cycle.record(CallResult::failure);  // admitted before the trip: not counted
  EXPECT_EQ(b.state(), BreakerState::closed);
  EXPECT_EQ(b.snapshot().consecutive_failures, 1u);
  b.reset("admin API");
  call(b, CallResult::failure);
  before_reset.record(CallResult::failure);  // admitted before the reset: not counted
  EXPECT_EQ(b.state(), BreakerState::closed);
  EXPECT_EQ(b.snapshot().consecutive_failures, 1u);
}

TEST_F(CircuitBreakerTest, ListenersSeeEveryTransitionInOrder) {
  CircuitBreaker b(consecutive_only(1), clock);
  std::vector<std::pair<BreakerState, BreakerState>> seen;
  b.add_listener([&](const BreakerTransition& t) { seen.emplace_back(t.from, t.to); });
  call(b, CallResult::failure);
  clock.advance(10s);
  call(b, CallResult::success);
  call(b, CallResult::success);
  b.force_open();
  b.disable();
  using S = BreakerState;
  EXPECT_EQ(seen, (std::vector<std::pair<S, S>>{{S::closed, S::open},
                                                {S::open, S::half_open},
                                                {S::half_open, S::closed},
                                                {S::closed, S::forced_open},
                                                {S::forced_open, S::disabled}}));
}

TEST_F(CircuitBreakerTest, ListenerMayReadTheBreaker) {
  CircuitBreaker b(consecutive_only(1), clock);
  BreakerState seen = BreakerState::closed;
  b.add_listener([&](const BreakerTransition&) { seen = b.state(); });  // no deadlock
  call(b, CallResult::failure);
  EXPECT_EQ(seen, BreakerState::open);
}

TEST_F(CircuitBreakerTest, HistoryIsBounded) {
  auto c = consecutive_only(1);
  c.history = 3;
  CircuitBreaker b(c, clock);
  for (int i = 0; i < 10; ++i)
    b.force_open(), b.reset();
  EXPECT_EQ(b.snapshot().recent.size(), 3u);
}

TEST_F(CircuitBreakerTest, RejectsInvalidConfig) {
  CircuitBreakerConfig c;
  c.half_open_calls = 0;
  EXPECT_THROW(CircuitBreaker(c, clock), std::invalid_argument);
  c = {};
  c.failure_rate_threshold = 1.5;
  EXPECT_THAT(validate(c), HasSubstr("failure_rate"));
  c = {};
  c.min_calls = 30;
  c.window_size = 20;
  EXPECT_THAT(validate(c), HasSubstr("min_calls"));
  c = {};
  c.max_open_for = 1s;
  EXPECT_THAT(validate(c), HasSubstr("max_open_for"));
  EXPECT_EQ(validate(CircuitBreakerConfig{}), "");
}

// A breaker handed to a successor in another process: each on its own fake clock (the
// two processes' clocks differ), boundary-exact.
CircuitBreakerConfig carry_config() {
  CircuitBreakerConfig c;
  c.consecutive_failures = 2;
  c.failure_rate_threshold = 0.0;
  c.open_for = 10s;
  c.open_backoff_multiplier = 2.0;
  c.half_open_calls = 1;
  return c;
}

TEST(BreakerCarryOver, AnOpenBreakerStaysOpenForWhatRemainedOfItsPeriodOnAnotherClock) {
  FakeClock old_clock, new_clock;
  new_clock.advance(12345s);  // another process, another origin
  CircuitBreaker before(carry_config(), old_clock);
  call(before, CallResult::failure);
  call(before, CallResult::failure);
  ASSERT_EQ(before.state(), BreakerState::open);
  old_clock.advance(4s);
  const BreakerCarryOver c = before.carry_over();
  EXPECT_EQ(c.open_remaining, 6s);
  EXPECT_EQ(c.open_elapsed, 4s);
  EXPECT_EQ(c.trips, 1u);

  CircuitBreaker after(carry_config(), new_clock);
  std::vector<BreakerTransition> seen;
  after.add_listener([&](const BreakerTransition& t) { seen.push_back(t); });
  after.adopt(c, "carried over");
  ASSERT_EQ(seen.size(), 1u) << "this process's logs and metrics learn the state";
  EXPECT_EQ(seen[0].from, BreakerState::closed);
  EXPECT_EQ(seen[0].to, BreakerState::open);
  EXPECT_THAT(seen[0].reason, HasSubstr("carried over: 2 consecutive failures"));
  EXPECT_FALSE(after.try_acquire());
  new_clock.advance(6s - 1ms);
  EXPECT_EQ(after.state(), BreakerState::open);
  EXPECT_FALSE(after.try_acquire());
  new_clock.advance(1ms);
  EXPECT_EQ(after.state(), BreakerState::half_open);
  // The trip count came along: failing the probe opens it for twice as long (backoff).
  call(after, CallResult::failure);
  ASSERT_EQ(after.state(), BreakerState::open);
  EXPECT_EQ(*after.next_probe_at() - new_clock.now(), 20s);
  // The history came along too, at the same ages.
  const auto snap = after.snapshot();
  ASSERT_GE(snap.recent.size(), 3u);
  EXPECT_EQ(snap.recent[0].to, BreakerState::open);
  EXPECT_EQ(new_clock.now() - snap.recent[0].at, 10s);
}

TEST(BreakerCarryOver, ClosedKeepsItsFailureStreakAndHalfOpenProbesAfresh) {
  FakeClock old_clock, new_clock;
  CircuitBreaker closed(carry_config(), old_clock);
  call(closed, CallResult::failure);
  CircuitBreaker after(carry_config(), new_clock);
  std::vector<BreakerTransition> seen;
  after.add_listener([&](const BreakerTransition& t) { seen.push_back(t); });
  after.adopt(closed.carry_over(), "carried over");
  EXPECT_TRUE(seen.empty()) << "closed to closed is no transition";
  call(after, CallResult::failure);  // the second in a row, counting the predecessor's
  EXPECT_EQ(after.state(), BreakerState::open);

  CircuitBreaker half(carry_config(), old_clock);
  call(half, CallResult::failure);
  call(half, CallResult::failure);
  old_clock.advance(10s);
  ASSERT_EQ(half.state(), BreakerState::half_open);
  auto probe = half.try_acquire();  // a probe in flight in the old process
  ASSERT_TRUE(probe);
  CircuitBreaker successor(carry_config(), new_clock);
  successor.adopt(half.carry_over(), "carried over");
  EXPECT_EQ(successor.state(), BreakerState::half_open);
  call(successor, CallResult::success);  // its own probe slot: the old one's is not counted
  EXPECT_EQ(successor.state(), BreakerState::closed);
  probe.record(CallResult::ignored);
}

TEST(BreakerCarryOver, ForcedOpenAndDisabledStaySo) {
  FakeClock clock;
  CircuitBreaker forced(carry_config(), clock), disabled(carry_config(), clock);
  forced.force_open("drill");
  disabled.disable("maintenance");
  CircuitBreaker a(carry_config(), clock), b(carry_config(), clock);
  a.adopt(forced.carry_over(), "carried over");
  b.adopt(disabled.carry_over(), "carried over");
  EXPECT_EQ(a.state(), BreakerState::forced_open);
  EXPECT_FALSE(a.try_acquire());
  EXPECT_EQ(b.state(), BreakerState::disabled);
  for (int i = 0; i < 5; ++i)
    call(b, CallResult::failure);
  EXPECT_EQ(b.state(), BreakerState::disabled);
}

}  // namespace
}  // namespace medgate::resilience
