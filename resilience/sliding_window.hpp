// Sliding windows of call outcomes used by the circuit breaker and the retry budget.
// Not synchronised: the owner holds its own lock.
#pragma once

#include <cstdint>
#include <vector>

#include "resilience/clock.hpp"

namespace medgate::resilience {

struct OutcomeCounts {
  uint32_t calls = 0;
  uint32_t failures = 0;
  uint32_t slow = 0;

  OutcomeCounts& operator+=(const OutcomeCounts& o) {
    calls += o.calls;
    failures += o.failures;
    slow += o.slow;
    return *this;
  }
  OutcomeCounts& operator-=(const OutcomeCounts& o) {
    calls -= o.calls;
    failures -= o.failures;
    slow -= o.slow;
    return *this;
  }
};

// The last `size` calls. O(1) per record; totals are kept running.
class CountWindow {
 public:
  explicit CountWindow(uint32_t size);

  void record(bool failure, bool slow);
  [[nodiscard]] const OutcomeCounts& totals() const { return totals_; }
  void clear();

 private:
  static constexpr uint8_t kFailure = 1;
  static constexpr uint8_t kSlow = 2;
  std::vector<uint8_t> ring_;  // flags per slot; only the first totals_.calls are live
  uint32_t next_ = 0;
  OutcomeCounts totals_;
};

// Counts over the last `buckets` × `bucket_width` of time, in fixed buckets (like
// resilience4j's time-based window). Counts is any type with += and -=.
template <typename Counts>
class TimeBuckets {
 public:
  TimeBuckets(uint32_t buckets, Duration bucket_width)
      : ring_(buckets), width_(bucket_width.count()) {}

  // Adds to the bucket holding `now`.
  void add(TimePoint now, const Counts& c) {
    advance(now);
    ring_[head_] += c;
    totals_ += c;
  }

  // Totals over the window ending at `now`.
  [[nodiscard]] const Counts& totals(TimePoint now) {
    advance(now);
    return totals_;
  }

  void clear() {
    for (auto& b : ring_)
      b = Counts{};
    totals_ = Counts{};
  }

 private:
  void advance(TimePoint now) {
    const int64_t epoch = now.time_since_epoch().count() / width_;
    if (!started_) {
      started_ = true;
      head_epoch_ = epoch;
      return;
    }
    if (epoch <= head_epoch_)
      return;  // same bucket (or a clock that went back: keep it)
    const int64_t steps = epoch - head_epoch_;
    const auto n = static_cast<int64_t>(ring_.size());
    for (int64_t i = 0; i < steps && i < n; ++i) {
      head_ = (head_ + 1) % ring_.size();
      totals_ -= ring_[head_];
      ring_[head_] = Counts{};
    }
    head_epoch_ = epoch;
  }

  std::vector<Counts> ring_;
  int64_t width_;
  size_t head_ = 0;
  int64_t head_epoch_ = 0;
  bool started_ = false;
  Counts totals_{};
};

}  // namespace medgate::resilience
