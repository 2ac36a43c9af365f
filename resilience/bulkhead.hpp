// Bulkhead: at most `max_concurrent` calls in flight; further calls are refused at once
// (no queue, so a slow upstream cannot pile up waiting work). Lock-free, thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

namespace medgate::resilience {

class Bulkhead {
 public:
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& o) noexcept : owner_(o.owner_) { o.owner_ = nullptr; }
    Permit& operator=(Permit&& o) noexcept {
      if (this != &o) {
        release();
        owner_ = o.owner_;
        o.owner_ = nullptr;
      }
      return *this;
    }
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit() { release(); }
    [[nodiscard]] explicit operator bool() const { return owner_ != nullptr; }

   private:
    friend class Bulkhead;
    explicit Permit(Bulkhead* b) : owner_(b) {}
    void release() {
      if (owner_)
        owner_->in_flight_.fetch_sub(1, std::memory_order_release);
      owner_ = nullptr;
    }
    Bulkhead* owner_ = nullptr;
  };

  explicit Bulkhead(uint32_t max_concurrent) : max_(max_concurrent) {}

  [[nodiscard]] Permit try_acquire() {
    uint32_t cur = in_flight_.load(std::memory_order_relaxed);
    while (cur < max_) {
      if (in_flight_.compare_exchange_weak(cur, cur + 1, std::memory_order_acquire,
                                           std::memory_order_relaxed))
        return Permit(this);
    }
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return Permit();
  }

  [[nodiscard]] uint32_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  [[nodiscard]] uint32_t max_concurrent() const { return max_; }
  [[nodiscard]] uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }

 private:
  const uint32_t max_;
  std::atomic<uint32_t> in_flight_{0};
  std::atomic<uint64_t> rejected_{0};
};

}  // namespace medgate::resilience
