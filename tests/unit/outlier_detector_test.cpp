#include "resilience/outlier_detector.hpp"

#include <gtest/gtest.h>

#include "tests/support/fake_clock.hpp"

namespace medgate::resilience {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;

class OutlierDetectorTest : public ::testing::Test {
 protected:
  testing::FakeClock clock;
  OutlierDetector d{{.consecutive_failures = 3, .base_ejection = 10s, .max_ejection = 25s}, clock};
};

TEST_F(OutlierDetectorTest, EjectsAtExactlyNConsecutiveFailures) {
  EXPECT_FALSE(d.record_failure());
  EXPECT_FALSE(d.record_failure());
  EXPECT_FALSE(d.ejected());
  EXPECT_TRUE(d.record_failure());
  EXPECT_TRUE(d.ejected());
  clock.advance(10s - 1ns);
  EXPECT_TRUE(d.ejected());
  clock.advance(1ns);
  EXPECT_FALSE(d.ejected());
}

TEST_F(OutlierDetectorTest, SuccessResetsTheStreak) {
  d.record_failure();
  d.record_failure();
  d.record_success();
  d.record_failure();
  d.record_failure();
  EXPECT_FALSE(d.ejected());
}

TEST_F(OutlierDetectorTest, EjectionGrowsWithRepeatsAndIsCapped) {
  auto eject = [&] {
    for (int i = 0; i < 3; ++i)
      d.record_failure();
    return d.snapshot().ejected_until - clock.now();
  };
  EXPECT_EQ(eject(), 10s);
  clock.advance(10s);
  EXPECT_EQ(eject(), 20s);
  clock.advance(20s);
  EXPECT_EQ(eject(), 25s);  // 30 s capped
  EXPECT_EQ(d.snapshot().total_ejections, 3u);
}

TEST_F(OutlierDetectorTest, HealthyTimeForgivesEjections) {
  for (int i = 0; i < 3; ++i)
    d.record_failure();
  clock.advance(10s);
  for (int i = 0; i < 3; ++i)
    d.record_failure();  // multiplier 2 → 20 s
  clock.advance(20s);
  clock.advance(20s);  // two healthy base periods
  d.record_success();
  EXPECT_EQ(d.snapshot().ejections, 0u);
  for (int i = 0; i < 3; ++i)
    d.record_failure();
  EXPECT_EQ(d.snapshot().ejected_until - clock.now(), 10s);
}

TEST_F(OutlierDetectorTest, FailuresWhileEjectedDoNotExtend) {
  for (int i = 0; i < 3; ++i)
    d.record_failure();
  const auto until = d.snapshot().ejected_until;
  for (int i = 0; i < 10; ++i)
    EXPECT_FALSE(d.record_failure());
  EXPECT_EQ(d.snapshot().ejected_until, until);
}

TEST_F(OutlierDetectorTest, AnEjectionLastsNoLongerThanTheCallersCap) {
  d.record_failure(true, 4s);
  d.record_failure(true, 4s);
  EXPECT_TRUE(d.record_failure(true, 4s));  // base 10 s, capped at 4 s
  clock.advance(4s - 1ns);
  EXPECT_TRUE(d.ejected());
  clock.advance(1ns);
  EXPECT_FALSE(d.ejected());
}

TEST_F(OutlierDetectorTest, ReinstateEndsAnEjectionAtOnceButKeepsTheMultiplier) {
  EXPECT_FALSE(d.reinstate());  // nothing to end
  for (int i = 0; i < 3; ++i)
    d.record_failure();
  ASSERT_TRUE(d.ejected());
  clock.advance(1s);
  EXPECT_TRUE(d.reinstate());
  EXPECT_FALSE(d.ejected());
  EXPECT_EQ(d.snapshot().consecutive_failures, 0u);
  for (int i = 0; i < 3; ++i)
    d.record_failure();
  // A relapse right away is ejected for longer: 2 x base.
  clock.advance(20s - 1ns);
  EXPECT_TRUE(d.ejected());
  clock.advance(1ns);
  EXPECT_FALSE(d.ejected());
}

TEST(OutlierDetector, ZeroThresholdNeverEjects) {
  testing::FakeClock clock;
  OutlierDetector d({.consecutive_failures = 0}, clock);
  for (int i = 0; i < 100; ++i)
    d.record_failure();
  EXPECT_FALSE(d.ejected());
}

TEST_F(OutlierDetectorTest, AtTheUpstreamCapTheEndpointStaysInUntilRoomFrees) {
  EXPECT_FALSE(d.record_failure(false));
  EXPECT_FALSE(d.record_failure(false));
  EXPECT_FALSE(d.record_failure(false));  // threshold reached, but no room
  EXPECT_FALSE(d.ejected());
  EXPECT_FALSE(d.record_failure(false));
  EXPECT_TRUE(d.record_failure(true));  // room again: the standing streak ejects at once
  EXPECT_TRUE(d.ejected());
}

TEST(OutlierDetector, MaxEjectedIsAShareButAlwaysAtLeastOne) {
  EXPECT_EQ(max_ejected(2, 10), 1u);
  EXPECT_EQ(max_ejected(20, 10), 2u);
  EXPECT_EQ(max_ejected(4, 50), 2u);
  EXPECT_EQ(max_ejected(4, 0), 1u);
  EXPECT_EQ(max_ejected(3, 100), 3u);
}

TEST(OutlierDetector, PercentOver100IsInvalid) {
  EXPECT_FALSE(validate(OutlierConfig{.max_ejection_percent = 101}).empty());
  EXPECT_TRUE(validate(OutlierConfig{.max_ejection_percent = 100}).empty());
}

// An outlier detector handed to a successor in another process.
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
