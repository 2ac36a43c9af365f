#include "resilience/endpoint_selector.hpp"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace medgate::resilience {
namespace {

TEST(EndpointSelector, OrderedPrefersFirstRoutable) {
  EndpointSelector s(SelectionPolicy::ordered, PanicMode::fail);
  std::vector<EndpointView> eps(3);
  EXPECT_EQ(s.pick(eps, 0)->index, 0u);
  eps[0].routable = false;
  EXPECT_EQ(s.pick(eps, 0)->index, 1u);
  EXPECT_FALSE(s.pick(eps, 0)->panic);
}

TEST(EndpointSelector, OrderedFailsOverPastTriedEndpoints) {
  EndpointSelector s(SelectionPolicy::ordered, PanicMode::fail);
  std::vector<EndpointView> eps(2);
  EXPECT_EQ(s.pick(eps, 0b01)->index, 1u);
  EXPECT_FALSE(s.pick(eps, 0b11).has_value());
}

TEST(EndpointSelector, RoundRobinSpreadsEvenly) {
  EndpointSelector s(SelectionPolicy::round_robin, PanicMode::fail);
  std::vector<EndpointView> eps(3);
  std::map<size_t, int> hits;
  for (int i = 0; i < 300; ++i)
    ++hits[s.pick(eps, 0)->index];
  EXPECT_EQ(hits[0], 100);
  EXPECT_EQ(hits[1], 100);
  EXPECT_EQ(hits[2], 100);
}

TEST(EndpointSelector, RoundRobinSkipsUnroutable) {
  EndpointSelector s(SelectionPolicy::round_robin, PanicMode::fail);
  std::vector<EndpointView> eps(3);
  eps[1].routable = false;
  for (int i = 0; i < 10; ++i)
    EXPECT_NE(s.pick(eps, 0)->index, 1u);
}

TEST(EndpointSelector, LeastOutstandingPicksLowestLoad) {
  EndpointSelector s(SelectionPolicy::least_outstanding, PanicMode::fail);
  std::vector<EndpointView> eps(3);
  eps[0].in_flight = 5;
  eps[1].in_flight = 2;
  eps[2].in_flight = 9;
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(s.pick(eps, 0)->index, 1u);
  EXPECT_EQ(s.pick(eps, 0b010)->index, 0u);
}

TEST(EndpointSelector, LeastOutstandingSpreadsTies) {
  EndpointSelector s(SelectionPolicy::least_outstanding, PanicMode::fail);
  std::vector<EndpointView> eps(2);
  std::map<size_t, int> hits;
  for (int i = 0; i < 100; ++i)
    ++hits[s.pick(eps, 0)->index];
  EXPECT_EQ(hits[0], 50);
  EXPECT_EQ(hits[1], 50);
}

TEST(EndpointSelector, NoneRoutableFailsUnlessPanicAny) {
  std::vector<EndpointView> eps(2);
  eps[0].routable = eps[1].routable = false;
  EndpointSelector strict(SelectionPolicy::ordered, PanicMode::fail);
  EXPECT_FALSE(strict.pick(eps, 0).has_value());
  EndpointSelector panic(SelectionPolicy::ordered, PanicMode::any);
  auto sel = panic.pick(eps, 0);
  ASSERT_TRUE(sel.has_value());
  EXPECT_TRUE(sel->panic);
  EXPECT_EQ(sel->index, 0u);
  EXPECT_EQ(panic.pick(eps, 0b01)->index, 1u);
  EXPECT_FALSE(panic.pick(eps, 0b11).has_value());  // panic never repeats a tried endpoint
}

TEST(EndpointSelector, RampingEndpointGetsItsShare) {
  EndpointSelector s(SelectionPolicy::ordered, PanicMode::fail);
  std::vector<EndpointView> eps(2);
  eps[0].weight = 25;  // primary ramping back in: a quarter of its traffic
  int to_primary = 0;
  for (int i = 0; i < 100; ++i)
    to_primary += s.pick(eps, 0, i / 100.0)->index == 0 ? 1 : 0;
  EXPECT_EQ(to_primary, 25);
  // Alone, it takes everything.
  EXPECT_EQ(s.pick(eps, 0b10, 0.99)->index, 0u);
}

TEST(EndpointSelector, EmptyHasNoPick) {
  EndpointSelector s(SelectionPolicy::round_robin, PanicMode::any);
  EXPECT_FALSE(s.pick({}, 0).has_value());
}

}  // namespace
}  // namespace medgate::resilience
