// Service levels from medgate's own counters (the dashboard without Prometheus).
#include <gtest/gtest.h>

#include "gateway/service_levels.hpp"

namespace medgate::gateway {
namespace {

using std::chrono::seconds;
const std::vector<double> kBounds{0.01, 0.1, 1, 3, 10};

ApiTotals at(int s, double requests, double errors, std::vector<double> counts) {
  return {.at = std::chrono::steady_clock::time_point(seconds(s)),
          .requests = requests,
          .errors = errors,
          .bucket_bounds = kBounds,
          .bucket_counts = std::move(counts)};
}

TEST(ServiceLevels, QuantileInterpolatesWithinTheBucket) {
  // 100 observations: 50 under 10 ms, 40 more under 100 ms, 10 more under 1 s.
  const std::vector<double> c{50, 90, 100, 100, 100};
  EXPECT_DOUBLE_EQ(*bucket_quantile(0.5, kBounds, c, 100), 0.01);
  EXPECT_DOUBLE_EQ(*bucket_quantile(0.7, kBounds, c, 100), 0.01 + 0.09 * 0.5);
  EXPECT_DOUBLE_EQ(*bucket_quantile(0.99, kBounds, c, 100), 0.1 + 0.9 * 0.9);
  EXPECT_FALSE(bucket_quantile(0.5, kBounds, c, 0));
  // Everything beyond the last bound: the last bound is all that is known.
  EXPECT_DOUBLE_EQ(*bucket_quantile(0.5, kBounds, {0, 0, 0, 0, 0}, 10), 10.0);
}

TEST(ServiceLevels, WindowIsTheDifferenceOfTwoSnapshots) {
  const auto w = levels_between(at(0, 1000, 5, {900, 990, 1000, 1000, 1000}),
                                at(60, 2000, 15, {1800, 1950, 1990, 1995, 2000}));
  EXPECT_DOUBLE_EQ(w.seconds, 60);
  EXPECT_DOUBLE_EQ(w.requests, 1000);
  EXPECT_DOUBLE_EQ(*w.availability, 0.99);
  EXPECT_DOUBLE_EQ(*w.under_3s, 0.995);
  EXPECT_DOUBLE_EQ(*w.p50_seconds, 0.01 * 500 / 900);
  ASSERT_TRUE(w.p99_seconds);
  EXPECT_GT(*w.p99_seconds, 0.1);
}

TEST(ServiceLevels, NoTrafficNoFigures) {
  const auto w =
      levels_between(at(0, 10, 0, {10, 10, 10, 10, 10}), at(5, 10, 0, {10, 10, 10, 10, 10}));
  EXPECT_FALSE(w.availability);
  EXPECT_FALSE(w.p99_seconds);
}

TEST(ServiceLevels, HistoryFindsTheOldestSnapshotInTheWindow) {
  TotalsHistory h(100);
  EXPECT_FALSE(h.over(seconds(300)));
  for (int s = 0; s <= 600; s += 10)
    h.add(at(s, s * 10.0, s >= 400 ? (s - 400) * 1.0 : 0.0, std::vector<double>(5, s * 10.0)));
  const auto five = h.over(seconds(300));
  ASSERT_TRUE(five);
  EXPECT_DOUBLE_EQ(five->seconds, 300);  // from 300 s to 600 s
  EXPECT_DOUBLE_EQ(*five->availability, 1.0 - 200.0 / 3000.0);
  const auto start = h.since_start();
  ASSERT_TRUE(start);
  EXPECT_DOUBLE_EQ(start->seconds, 600);
  EXPECT_DOUBLE_EQ(*start->availability, 1.0 - 200.0 / 6000.0);
}

TEST(ServiceLevels, BoundedHistoryStillKnowsTheStart) {
  TotalsHistory h(3);
  for (int s = 0; s <= 100; s += 10)
    h.add(at(s, s * 10.0, 0, std::vector<double>(5, s * 10.0)));
  EXPECT_DOUBLE_EQ(h.over(seconds(3600))->seconds, 20);  // only the last 3 kept
  EXPECT_DOUBLE_EQ(h.since_start()->seconds, 100);
}

}  // namespace
}  // namespace medgate::gateway
