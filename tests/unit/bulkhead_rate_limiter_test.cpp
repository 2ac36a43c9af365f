#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "resilience/bulkhead.hpp"
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
