#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "resilience/bulkhead.hpp"
#include "resilience/client_rate_limiter.hpp"
#include "resilience/rate_limiter.hpp"
#include "tests/support/fake_clock.hpp"

namespace medgate::resilience {
namespace {

using namespace std::chrono_literals;

TEST(Bulkhead, RefusesBeyondLimitAndReleasesOnDestruction) {
  Bulkhead b(2);
  auto p1 = b.try_acquire();
  auto p2 = b.try_acquire();
  EXPECT_TRUE(p1);
  EXPECT_TRUE(p2);
  EXPECT_FALSE(b.try_acquire());
  EXPECT_EQ(b.rejected(), 1u);
  { auto moved = std::move(p1); }
  EXPECT_EQ(b.in_flight(), 1u);
  EXPECT_TRUE(b.try_acquire());
}

TEST(Bulkhead, ConcurrentAcquireNeverExceedsLimit) {
  Bulkhead b(3);
  std::atomic<uint32_t> worst{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        auto p = b.try_acquire();
        const uint32_t now = b.in_flight();
        uint32_t w = worst.load();
        while (now > w && !worst.compare_exchange_weak(w, now)) {
        }
      }
    });
  }
  for (auto& t : ts)
    t.join();
  EXPECT_LE(worst.load(), 3u);
  EXPECT_EQ(b.in_flight(), 0u);
}

TEST(TokenBucket, StartsFullThenRefillsAtRate) {
  testing::FakeClock clock;
  TokenBucket tb(10.0, 5.0, clock);  // 10/s, burst 5
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(tb.try_acquire());
  EXPECT_FALSE(tb.try_acquire());
  EXPECT_EQ(tb.wait_for(), 100ms);
  clock.advance(99ms);
  EXPECT_FALSE(tb.try_acquire());
  clock.advance(1ms);
  EXPECT_TRUE(tb.try_acquire());
  clock.advance(10s);  // refill is capped at the burst
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(tb.try_acquire());
  EXPECT_FALSE(tb.try_acquire());
  EXPECT_EQ(tb.rejected(), 3u);
}

TEST(TokenBucket, RejectsInvalidParameters) {
  testing::FakeClock clock;
  EXPECT_THROW(TokenBucket(0.0, 1.0, clock), std::invalid_argument);
  EXPECT_THROW(TokenBucket(1.0, 0.5, clock), std::invalid_argument);
}

}  // namespace
}  // namespace medgate::resilience

namespace medgate::resilience {
namespace {

using namespace std::chrono_literals;

TEST(ClientRateLimiter, EachClientHasItsOwnBucket) {
  testing::FakeClock clock;
  ClientRateLimiter limiter(10.0, 2.0, 100, clock);  // 10/s, burst 2
  EXPECT_TRUE(limiter.try_acquire("10.0.0.1").allowed);
  EXPECT_TRUE(limiter.try_acquire("10.0.0.1").allowed);
  const auto refused = limiter.try_acquire("10.0.0.1");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, 100ms);  // one token at 10/s
  EXPECT_TRUE(limiter.try_acquire("10.0.0.2").allowed) << "another client is not slowed";
  clock.advance(99ms);
  EXPECT_FALSE(limiter.try_acquire("10.0.0.1").allowed);
  clock.advance(1ms);
  EXPECT_TRUE(limiter.try_acquire("10.0.0.1").allowed);
  EXPECT_EQ(limiter.rejected(), 2U);
}

TEST(ClientRateLimiter, AFullTableForgetsIdleClientsAndLetsNewOnesThroughWhenAllAreBusy) {
  testing::FakeClock clock;
  // 16 shards of 1 entry: each client fills its shard.
  ClientRateLimiter limiter(1.0, 1.0, 16, clock);
  std::vector<std::string> clients;
  for (int i = 0; i < 200; ++i) {
    std::string name = "c";  // not "c" + to_string(i): GCC 12 -O3 warns falsely (-Wrestrict)
    name += std::to_string(i);
    clients.push_back(std::move(name));
  }
  size_t tracked_busy = 0;
  for (const auto& c : clients)
    tracked_busy += limiter.try_acquire(c).allowed ? 1 : 0;
  EXPECT_EQ(tracked_busy, 200U) << "new clients are let through, never refused";
  EXPECT_GT(limiter.untracked(), 0U);
  clock.advance(1s);  // every bucket refilled: idle, forgettable
  EXPECT_TRUE(limiter.try_acquire("newcomer").allowed);
  EXPECT_FALSE(limiter.try_acquire("newcomer").allowed) << "tracked again once there is room";
}

TEST(ClientRateLimiter, RefusesNonsense) {
  testing::FakeClock clock;
  EXPECT_THROW(ClientRateLimiter(0, 1, 10, clock), std::invalid_argument);
  EXPECT_THROW(ClientRateLimiter(1, 0.5, 10, clock), std::invalid_argument);
  EXPECT_THROW(ClientRateLimiter(1, 1, 0, clock), std::invalid_argument);
}

}  // namespace
}  // namespace medgate::resilience
