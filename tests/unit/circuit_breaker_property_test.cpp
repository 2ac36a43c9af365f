// Randomised sequences of calls, outcomes, cancellations, operator actions and time steps,
// checking the breaker's invariants after every step.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "resilience/circuit_breaker.hpp"
#include "tests/support/fake_clock.hpp"

namespace medgate::resilience {
namespace {

using namespace std::chrono_literals;

TEST(CircuitBreakerProperty, InvariantsHoldOverRandomSequences) {
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    std::mt19937 rng(seed);
    testing::FakeClock clock;
    CircuitBreakerConfig c;
    c.consecutive_failures = 1 + rng() % 6;
    c.failure_rate_threshold = (rng() % 2) ? 0.5 : 0.0;
    c.window_size = 4 + rng() % 10;
    c.min_calls = 1 + rng() % c.window_size;
    c.half_open_calls = 1 + rng() % 4;
    c.open_for = 1s;
    c.open_backoff_multiplier = 1.5;
    c.max_open_for = 5s;
    CircuitBreaker b(c, clock);

    std::vector<CircuitBreaker::Permit> outstanding;
    for (int step = 0; step < 400; ++step) {
      const BreakerState before = b.state();
      switch (rng() % 10) {
        case 0:
        case 1:
        case 2: {
          auto p = b.try_acquire();
          if (before == BreakerState::forced_open || before == BreakerState::open) {
            ASSERT_FALSE(p) << "seed " << seed << ": admitted while " << to_string(before);
          }
          if (before == BreakerState::closed || before == BreakerState::disabled) {
            ASSERT_TRUE(p) << "seed " << seed << ": refused while " << to_string(before);
          }
          if (p)
            outstanding.push_back(std::move(p));
          break;
        }
        case 3:
        case 4:
        case 5:
        case 6:
          if (!outstanding.empty()) {
            const size_t i = rng() % outstanding.size();
            const auto r = static_cast<CallResult>(rng() % 3);
            outstanding[i].record(r);
            outstanding.erase(outstanding.begin() + static_cast<long>(i));
          }
          break;
        case 7:
          if (!outstanding.empty())
            outstanding.erase(outstanding.begin());  // cancelled
          break;
        case 8:
          clock.advance(std::chrono::milliseconds(rng() % 1500));
          break;
        case 9:
          switch (rng() % 8) {
            case 0:
              b.force_open();
              break;
            case 1:
              b.reset();
              break;
            case 2:
              b.disable();
              break;
            case 3:
              b.force_closed();
              break;
            default:
              break;
          }
          break;
      }
      const auto snap = b.snapshot();
      ASSERT_LE(snap.half_open_in_flight, c.half_open_calls) << "seed " << seed;
      if (snap.state != BreakerState::half_open) {
        ASSERT_EQ(snap.half_open_in_flight, 0u) << "seed " << seed;
      }
      ASSERT_LE(snap.window.failures, snap.window.calls);
      ASSERT_LE(snap.window.calls, c.window_size);
      ASSERT_LE(snap.recent.size(), c.history);
      if (snap.state == BreakerState::open) {
        ASSERT_TRUE(snap.next_probe_at.has_value());
        ASSERT_LE(*snap.next_probe_at - *snap.open_since, c.max_open_for);
      }
    }
  }
}

// Many threads hammer one breaker while time moves; the breaker's own probe count must never
// exceed the limit (nor underflow). Under the tsan preset this also checks the locking.
TEST(CircuitBreakerProperty, ConcurrentCallersNeverExceedHalfOpenLimit) {
  testing::FakeClock clock;
  CircuitBreakerConfig c;
  c.consecutive_failures = 2;
  c.half_open_calls = 1;
  c.open_for = 1ms;
  c.max_open_for = 1ms;
  CircuitBreaker b(c, clock);
  std::atomic<uint32_t> worst{0};
  std::atomic<uint64_t> probes_seen{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<uint32_t>(t));
      for (int i = 0; i < 20000; ++i) {
        // Time moves with the calls themselves, so half-open comes round however the
        // scheduler interleaves the threads (a separate ticker thread can run before or
        // after all of them on a busy machine).
        if (i % 8 == 0)
          clock.advance(1ms);
        auto p = b.try_acquire();
        const auto snap = b.snapshot();
        uint32_t w = worst.load();
        while (snap.half_open_in_flight > w &&
               !worst.compare_exchange_weak(w, snap.half_open_in_flight)) {
        }
        if (snap.state == BreakerState::half_open)
          ++probes_seen;
        if (!p)
          continue;
        if (rng() % 4 == 0)
          continue;  // dropped: cancels
        p.record(rng() % 2 == 0 ? CallResult::failure : CallResult::success);
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_LE(worst.load(), c.half_open_calls);
  EXPECT_GT(probes_seen.load(), 0u) << "the test never exercised half-open";
}

}  // namespace
}  // namespace medgate::resilience
