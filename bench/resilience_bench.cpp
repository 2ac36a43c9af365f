// Cost of one admit + record per policy, single-threaded and contended.
// Run: build/release/bench/resilience_bench  (see docs/performance.md)
#include <benchmark/benchmark.h>

#include "resilience/bulkhead.hpp"
#include "resilience/circuit_breaker.hpp"
#include "resilience/endpoint_selector.hpp"
#include "resilience/outlier_detector.hpp"
#include "resilience/rate_limiter.hpp"
#include "resilience/retry.hpp"

namespace {

using namespace medgate::resilience;
using namespace std::chrono_literals;

const SteadyClock& clock_instance() {
  static const SteadyClock c;
  return c;
}

void BM_BreakerCountWindow(benchmark::State& state) {
  static CircuitBreaker* b = nullptr;
  if (state.thread_index() == 0)
    b = new CircuitBreaker(CircuitBreakerConfig{}, clock_instance());
  uint64_t i = 0;
  for (auto _ : state) {
    auto p = b->try_acquire();
    // One failure in 8: never 5 in a row, stays under the 50 % rate.
    p.record(++i % 8 == 0 ? CallResult::failure : CallResult::success);
  }
  if (state.thread_index() == 0) {
    delete b;
    b = nullptr;
  }
}
BENCHMARK(BM_BreakerCountWindow)->Threads(1)->Threads(2)->UseRealTime();

void BM_BreakerTimeWindowSlowCalls(benchmark::State& state) {
  CircuitBreakerConfig c;
  c.window_kind = WindowKind::time_based;
  c.window_size = 10;
  c.slow_call_rate_threshold = 0.9;
  c.slow_call_duration = 1s;
  CircuitBreaker b(c, clock_instance());
  for (auto _ : state) {
    auto p = b.try_acquire();
    p.record(CallResult::success);
  }
}
BENCHMARK(BM_BreakerTimeWindowSlowCalls);

void BM_BreakerRejectWhileForcedOpen(benchmark::State& state) {
  CircuitBreaker b(CircuitBreakerConfig{}, clock_instance());
  b.force_open();
  for (auto _ : state)
    benchmark::DoNotOptimize(b.try_acquire());
}
BENCHMARK(BM_BreakerRejectWhileForcedOpen);

void BM_RetryDecisionWithBudget(benchmark::State& state) {
  RetryConfig c;
  RetryBudget budget({.ratio = 1.0, .min_retries = 1000000, .window = 10s}, clock_instance());
  RetryRequest r;
  r.idempotent = true;
  r.deadline = TimePoint::max();
  for (auto _ : state) {
    budget.record_request();
    r.now = clock_instance().now();
    benchmark::DoNotOptimize(decide_retry(c, {FailureKind::none, 503}, r, &budget));
  }
}
BENCHMARK(BM_RetryDecisionWithBudget);

void BM_SelectorRoundRobin(benchmark::State& state) {
  EndpointSelector s(SelectionPolicy::round_robin, PanicMode::fail);
  std::vector<EndpointView> eps(2);
  for (auto _ : state)
    benchmark::DoNotOptimize(s.pick(eps, 0));
}
BENCHMARK(BM_SelectorRoundRobin);

void BM_SelectorLeastOutstanding(benchmark::State& state) {
  EndpointSelector s(SelectionPolicy::least_outstanding, PanicMode::fail);
  std::vector<EndpointView> eps(4);
  for (auto _ : state)
    benchmark::DoNotOptimize(s.pick(eps, 0));
}
BENCHMARK(BM_SelectorLeastOutstanding);

void BM_OutlierRecordSuccess(benchmark::State& state) {
  OutlierDetector d(OutlierConfig{}, clock_instance());
  for (auto _ : state) {
    d.record_success();
    benchmark::DoNotOptimize(d.ejected());
  }
}
BENCHMARK(BM_OutlierRecordSuccess);

void BM_BulkheadAcquireRelease(benchmark::State& state) {
  static Bulkhead bulkhead(1000);
  for (auto _ : state)
    benchmark::DoNotOptimize(bulkhead.try_acquire());
}
BENCHMARK(BM_BulkheadAcquireRelease)->Threads(1)->Threads(2)->UseRealTime();

void BM_TokenBucket(benchmark::State& state) {
  TokenBucket tb(1e12, 1e12, clock_instance());
  for (auto _ : state)
    benchmark::DoNotOptimize(tb.try_acquire());
}
BENCHMARK(BM_TokenBucket);

}  // namespace

BENCHMARK_MAIN();
