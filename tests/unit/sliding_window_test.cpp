#include "resilience/sliding_window.hpp"

#include <gtest/gtest.h>

namespace medgate::resilience {
namespace {

using namespace std::chrono_literals;

TEST(CountWindow, KeepsLastNCalls) {
  CountWindow w(3);
  w.record(true, false);
  w.record(false, true);
  EXPECT_EQ(w.totals().calls, 2u);
  w.record(false, false);
  w.record(false, false);  // first (failure) leaves
  EXPECT_EQ(w.totals().calls, 3u);
  EXPECT_EQ(w.totals().failures, 0u);
  EXPECT_EQ(w.totals().slow, 1u);
  w.record(false, false);  // the slow one leaves
  EXPECT_EQ(w.totals().slow, 0u);
  w.clear();
  EXPECT_EQ(w.totals().calls, 0u);
}

TEST(CountWindow, RejectsZeroSize) {
  EXPECT_THROW(CountWindow(0), std::invalid_argument);
}

TEST(TimeBuckets, EvictsBucketsOlderThanTheWindow) {
  TimeBuckets<OutcomeCounts> w(5, 1s);
  const TimePoint t0(1000s);
  w.add(t0, {1, 1, 0});
  w.add(t0 + 2s, {1, 0, 0});
  EXPECT_EQ(w.totals(t0 + 4s).calls, 2u);
  EXPECT_EQ(w.totals(t0 + 5s).calls, 1u);  // t0's bucket left
  EXPECT_EQ(w.totals(t0 + 5s).failures, 0u);
  EXPECT_EQ(w.totals(t0 + 7s).calls, 0u);
}

TEST(TimeBuckets, LongGapClearsEverything) {
  TimeBuckets<OutcomeCounts> w(5, 1s);
  const TimePoint t0(1000s);
  for (int i = 0; i < 5; ++i)
    w.add(t0 + std::chrono::seconds(i), {1, 0, 0});
  EXPECT_EQ(w.totals(t0 + 4s).calls, 5u);
  EXPECT_EQ(w.totals(t0 + 1h).calls, 0u);
  w.add(t0 + 1h, {1, 0, 0});
  EXPECT_EQ(w.totals(t0 + 1h).calls, 1u);
}

}  // namespace
}  // namespace medgate::resilience
