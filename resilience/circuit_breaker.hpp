// Circuit breaker with closed / open / half-open states plus the operator states
// forced-open and disabled.
//
// Usage: `auto permit = breaker.try_acquire(); if (!permit) reject; ...; permit.record(result);`
// A permit dropped without a result (caller cancelled) gives its slot back, so half-open can
// never get stuck waiting for a probe that nobody will report.
//
// Thread-safe. Listeners run on the thread whose call caused the transition, after the
// breaker's lock is released (they may call back into the breaker).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "resilience/clock.hpp"
#include "resilience/sliding_window.hpp"

namespace medgate::resilience {

enum class BreakerState : uint8_t { closed, open, half_open, forced_open, disabled };
[[nodiscard]] std::string_view to_string(BreakerState s);

enum class WindowKind : uint8_t { count_based, time_based };

struct CircuitBreakerConfig {
  // Trip after this many failures in a row; 0 turns the rule off.
  uint32_t consecutive_failures = 5;
  // Trip when failures/calls in the window reaches this rate (0 < r <= 1); 0 turns it off.
  double failure_rate_threshold = 0.5;
  // Trip when slow calls/calls reaches this rate; 0 turns it off.
  double slow_call_rate_threshold = 0.0;
  // A call at least this long is slow (only meaningful with a slow-call threshold).
  Duration slow_call_duration = std::chrono::seconds(1);
  WindowKind window_kind = WindowKind::count_based;
  // Calls (count-based) or seconds (time-based).
  uint32_t window_size = 20;
  // Rate rules apply only once the window holds this many calls.
  uint32_t min_calls = 10;
  // How long the breaker stays open before letting probes through.
  Duration open_for = std::chrono::seconds(10);
  // Each trip without a full recovery multiplies the open time by this (>= 1)...
  double open_backoff_multiplier = 1.0;
  // ...up to this cap.
  Duration max_open_for = std::chrono::minutes(5);
  // Probes allowed in half-open; all must succeed to close, any failure re-opens.
  uint32_t half_open_calls = 2;
  // Transitions kept for /health.
  uint32_t history = 16;
};

// Returns an empty string when valid, otherwise what is wrong (names the field).
[[nodiscard]] std::string validate(const CircuitBreakerConfig& c);

enum class CallResult : uint8_t {
  success,
  failure,
  ignored,  // neither (e.g. the client went away): frees the slot, counts nothing
};

struct BreakerTransition {
  TimePoint at;
  BreakerState from;
  BreakerState to;
  std::string reason;
};

struct BreakerSnapshot {
  BreakerState state = BreakerState::closed;
  OutcomeCounts window;       // calls, failures, slow in the current window
  double failure_rate = 0.0;  // failures / calls in window (0 when empty)
  double slow_call_rate = 0.0;
  uint32_t consecutive_failures = 0;
  uint32_t half_open_in_flight = 0;
  uint32_t trips = 0;          // trips since the last full recovery (drives backoff)
  uint64_t not_permitted = 0;  // calls refused since construction
  std::optional<TimePoint> open_since;
  std::optional<TimePoint> next_probe_at;
  std::vector<BreakerTransition> recent;  // oldest first
};

// What a breaker hands to its successor in another process (medgate restarted with the same
// settings for this upstream): times as durations from "now", since clocks differ between
// processes. The window of recent outcomes is not carried: the successor measures afresh.
struct BreakerCarryOver {
  BreakerState state = BreakerState::closed;
  uint32_t trips = 0;
  uint32_t consecutive_failures = 0;
  Duration open_elapsed{};    // open, half-open, forced open: since it opened
  Duration open_remaining{};  // open: until the next probe
  struct Transition {
    Duration age;  // how long ago
    BreakerState from;
    BreakerState to;
    std::string reason;
  };
  std::vector<Transition> recent;  // oldest first
};

class CircuitBreaker {
 public:
  using Listener = std::function<void(const BreakerTransition&)>;

  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& o) noexcept;
    Permit& operator=(Permit&& o) noexcept;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit();

    [[nodiscard]] explicit operator bool() const { return breaker_ != nullptr; }
    // A half-open breaker's probe (its result decides whether the breaker closes).
    [[nodiscard]] bool probe() const { return probe_; }
    // Reports the outcome; the elapsed time since acquisition decides "slow".
    void record(CallResult result);

   private:
    friend class CircuitBreaker;
    Permit(CircuitBreaker* b, uint64_t epoch, bool probe, TimePoint start)
        : breaker_(b), epoch_(epoch), probe_(probe), start_(start) {}
    CircuitBreaker* breaker_ = nullptr;
    uint64_t epoch_ = 0;
    bool probe_ = false;
    TimePoint start_{};
  };

  CircuitBreaker(CircuitBreakerConfig config, const Clock& clock);  // throws on invalid config
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // An empty permit means the call must not go (open, forced open, or no probe slot left).
  [[nodiscard]] Permit try_acquire();

  [[nodiscard]] BreakerState state();
  [[nodiscard]] BreakerSnapshot snapshot();
  // When an open breaker lets its next probe through; nullopt unless open. Cheaper than
  // snapshot() (no copies): refused calls ask it for their Retry-After.
  [[nodiscard]] std::optional<TimePoint> next_probe_at();
  [[nodiscard]] const CircuitBreakerConfig& config() const { return config_; }

  // Operator controls. `reason` ends up in the transition history.
  void force_open(std::string_view reason = "operator");
  void force_closed(std::string_view reason = "operator");  // to closed, keeps measuring
  void disable(std::string_view reason = "operator");       // always permits, never trips
  void reset(std::string_view reason = "operator");         // closed with a clean slate
  // Evidence the callee is back (its active health checks pass again): an open breaker goes
  // half-open now instead of waiting out its open period. Any other state is left alone.
  void probe_now(std::string_view reason);

  // Its state for a successor (see BreakerCarryOver).
  [[nodiscard]] BreakerCarryOver carry_over();
  // Takes over a predecessor's state: an open breaker stays open for what remained of its
  // period, a half-open one probes again, forced open and disabled stay so; trips (backoff),
  // consecutive failures and the transition history are kept. A state other than closed is
  // reported to the listeners as one transition from closed, `reason` prefixed to the
  // predecessor's last reason, so logs and metrics of this process show it.
  void adopt(const BreakerCarryOver& from, std::string_view reason);

  // Not synchronised with calls: register listeners before the breaker is shared.
  void add_listener(Listener l) { listeners_.push_back(std::move(l)); }

 private:
  using Pending = std::vector<BreakerTransition>;

  void on_result(const Permit& p, CallResult result);
  void on_cancel(const Permit& p);
  void maybe_half_open(TimePoint now, Pending& out);
  void transition(BreakerState to, TimePoint now, std::string reason, Pending& out);
  void trip(TimePoint now, std::string reason, Pending& out);
  void clear_measurements();
  [[nodiscard]] OutcomeCounts window_totals(TimePoint now);
  void record_in_window(TimePoint now, bool failure, bool slow);
  void notify(const Pending& pending) const;

  const CircuitBreakerConfig config_;
  const Clock& clock_;
  std::vector<Listener> listeners_;

  std::mutex mu_;
  BreakerState state_ = BreakerState::closed;
  // state_, written under mu_, read without it by state(): routing asks it of every
  // endpoint on every request, and only an open breaker's answer depends on the time.
  std::atomic<BreakerState> published_state_{BreakerState::closed};
  uint64_t epoch_ = 0;  // bumps on every transition; stale probes are recognised by it
  CountWindow count_window_;
  TimeBuckets<OutcomeCounts> time_window_;
  uint32_t consecutive_failures_ = 0;
  uint32_t trips_ = 0;
  uint64_t not_permitted_ = 0;
  TimePoint opened_at_{};
  TimePoint open_until_{};
  uint32_t probes_issued_ = 0;
  uint32_t probes_in_flight_ = 0;
  uint32_t probe_successes_ = 0;
  std::deque<BreakerTransition> history_;
};

}  // namespace medgate::resilience
