// The leader lease's bookkeeping on a fake clock: a monitor acts only while it holds the key
// and its own estimate of the lease (from the renewal's send time, less the margin) lasts.
#include "db-monitors/leadership.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/fake_clock.hpp"

namespace medgate::dbmon {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

TEST(Leadership, ActsOnlyWithTheKeyAndALiveLease) {
  testing::FakeClock clock;
  Leadership l(1s);
  EXPECT_FALSE(l.may_act(clock.now()));
  EXPECT_THAT(l.why_not(clock.now()), HasSubstr("no live lease"));
  l.renewed(clock.now(), 3s);
  EXPECT_FALSE(l.may_act(clock.now()));
  EXPECT_EQ(l.why_not(clock.now()), "no monitor holds the leader key yet");
  l.holds_key(false, "m2");
  EXPECT_EQ(l.why_not(clock.now()), "m2 holds the leader key");
  l.holds_key(true, "m1");
  EXPECT_TRUE(l.may_act(clock.now()));
  EXPECT_EQ(l.why_not(clock.now()), "");
}

// Paused, or cut off from etcd: it stops acting `margin` before etcd can hand the key over,
// counted from when the last renewal was sent, not answered.
TEST(Leadership, StopsActingBeforeTheLeaseCanExpire) {
  testing::FakeClock clock;
  Leadership l(1s);
  const auto sent = clock.now();
  clock.advance(400ms);  // the answer came late
  l.renewed(sent, 3s);
  l.holds_key(true, "m1");
  clock.advance(1500ms);
  EXPECT_TRUE(l.may_act(clock.now()));  // 1.9 s after sending
  l.unreachable("etcd /v3/lease/keepalive: no member answered");
  clock.advance(100ms);
  EXPECT_FALSE(l.may_act(clock.now()));  // 2 s after sending: ttl - margin
  EXPECT_THAT(l.why_not(clock.now()), HasSubstr("no member answered"));
  // A renewal that finds the lease gone ends the key's hold as well.
  l.renewed(clock.now(), 0s);
  EXPECT_FALSE(l.may_act(clock.now()));
  l.renewed(clock.now(), 3s);
  EXPECT_FALSE(l.may_act(clock.now()));  // a new lease: the key must be won again
}

}  // namespace
}  // namespace medgate::dbmon
