// A breaker's and an outlier detector's state handed to a successor in another process:
// each on its own fake clock (the two processes' clocks differ), boundary-exact.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "resilience/circuit_breaker.hpp"
#include "resilience/outlier_detector.hpp"
#include "tests/support/fake_clock.hpp"

namespace medgate::resilience {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using ::testing::HasSubstr;

CircuitBreakerConfig config() {
  CircuitBreakerConfig c;
  c.consecutive_failures = 2;
  c.failure_rate_threshold = 0.0;
  c.open_for = 10s;
  c.open_backoff_multiplier = 2.0;
  c.half_open_calls = 1;
  return c;
}

void call(CircuitBreaker& b, CallResult r) {
  auto p = b.try_acquire();
  ASSERT_TRUE(p) << "call refused in state " << to_string(b.state());
  p.record(r);
}

TEST(BreakerCarryOver, AnOpenBreakerStaysOpenForWhatRemainedOfItsPeriodOnAnotherClock) {
  FakeClock old_clock, new_clock;
  new_clock.advance(12345s);  // another process, another origin
  CircuitBreaker before(config(), old_clock);
  call(before, CallResult::failure);
  call(before, CallResult::failure);
  ASSERT_EQ(before.state(), BreakerState::open);
  old_clock.advance(4s);
  const BreakerCarryOver c = before.carry_over();
  EXPECT_EQ(c.open_remaining, 6s);
  EXPECT_EQ(c.open_elapsed, 4s);
  EXPECT_EQ(c.trips, 1u);

  CircuitBreaker after(config(), new_clock);
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
  CircuitBreaker closed(config(), old_clock);
  call(closed, CallResult::failure);
  CircuitBreaker after(config(), new_clock);
  std::vector<BreakerTransition> seen;
  after.add_listener([&](const BreakerTransition& t) { seen.push_back(t); });
  after.adopt(closed.carry_over(), "carried over");
  EXPECT_TRUE(seen.empty()) << "closed to closed is no transition";
  call(after, CallResult::failure);  // the second in a row, counting the predecessor's
  EXPECT_EQ(after.state(), BreakerState::open);

  CircuitBreaker half(config(), old_clock);
  call(half, CallResult::failure);
  call(half, CallResult::failure);
  old_clock.advance(10s);
  ASSERT_EQ(half.state(), BreakerState::half_open);
  auto probe = half.try_acquire();  // a probe in flight in the old process
  ASSERT_TRUE(probe);
  CircuitBreaker successor(config(), new_clock);
  successor.adopt(half.carry_over(), "carried over");
  EXPECT_EQ(successor.state(), BreakerState::half_open);
  call(successor, CallResult::success);  // its own probe slot: the old one's is not counted
  EXPECT_EQ(successor.state(), BreakerState::closed);
  probe.record(CallResult::ignored);
}

TEST(BreakerCarryOver, ForcedOpenAndDisabledStaySo) {
  FakeClock clock;
  CircuitBreaker forced(config(), clock), disabled(config(), clock);
  forced.force_open("drill");
  disabled.disable("maintenance");
  CircuitBreaker a(config(), clock), b(config(), clock);
  a.adopt(forced.carry_over(), "carried over");
  b.adopt(disabled.carry_over(), "carried over");
  EXPECT_EQ(a.state(), BreakerState::forced_open);
  EXPECT_FALSE(a.try_acquire());
  EXPECT_EQ(b.state(), BreakerState::disabled);
  for (int i = 0; i < 5; ++i)
    call(b, CallResult::failure);
  EXPECT_EQ(b.state(), BreakerState::disabled);
}

TEST(OutlierCarryOver, AnEjectionLastsWhatRemainedAndTheMultiplierIsKept) {
  OutlierConfig cfg;
  cfg.consecutive_failures = 2;
  cfg.base_ejection = 10s;
  cfg.max_ejection = 100s;
  FakeClock old_clock, new_clock;
  new_clock.advance(999s);
  OutlierDetector before(cfg, old_clock);
  before.record_failure();
  ASSERT_TRUE(before.record_failure());
  old_clock.advance(3s);
  const OutlierCarryOver c = before.carry_over();
  EXPECT_EQ(c.ejected_remaining, 7s);
  EXPECT_EQ(c.ejections, 1u);

  OutlierDetector after(cfg, new_clock);
  after.adopt(c);
  EXPECT_TRUE(after.ejected());
  new_clock.advance(7s - 1ms);
  EXPECT_TRUE(after.ejected());
  new_clock.advance(1ms);
  EXPECT_FALSE(after.ejected());
  // The next ejection is the second: twice the base.
  after.record_failure();
  ASSERT_TRUE(after.record_failure());
  EXPECT_EQ(after.snapshot().ejected_until - new_clock.now(), 20s);
  EXPECT_EQ(after.snapshot().total_ejections, 2u);
}

TEST(OutlierCarryOver, ForgivenessEarnedBeforeTheHandOverCounts) {
  OutlierConfig cfg;
  cfg.consecutive_failures = 1;
  cfg.base_ejection = 10s;
  FakeClock clock;
  OutlierDetector before(cfg, clock);
  ASSERT_TRUE(before.record_failure());
  clock.advance(10s + 10s);  // the ejection ended, then one clean base period
  EXPECT_EQ(before.carry_over().ejections, 0u);
  EXPECT_EQ(before.carry_over().ejected_remaining, Duration::zero());
}

}  // namespace
}  // namespace medgate::resilience
