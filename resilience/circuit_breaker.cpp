#include "resilience/circuit_breaker.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace medgate::resilience {
namespace {

std::string percent(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", r * 100.0);
  return buf;
}

std::string millis(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + "ms";
}

double rate(uint32_t part, uint32_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

}  // namespace

std::string_view to_string(BreakerState s) {
  switch (s) {
    case BreakerState::closed:
      return "closed";
    case BreakerState::open:
      return "open";
    case BreakerState::half_open:
      return "half_open";
    case BreakerState::forced_open:
      return "forced_open";
    case BreakerState::disabled:
      return "disabled";
  }
  return "unknown";
}

std::string validate(const CircuitBreakerConfig& c) {
  auto in_unit = [](double r) { return r >= 0.0 && r <= 1.0; };
  if (!in_unit(c.failure_rate_threshold))
    return "failure_rate must be within [0, 1]";
  if (!in_unit(c.slow_call_rate_threshold))
    return "slow_call_rate must be within [0, 1]";
  if (c.window_size == 0)
    return "window must be > 0";
  if (c.min_calls == 0)
    return "min_calls must be > 0";
  if (c.window_kind == WindowKind::count_based && c.min_calls > c.window_size)
    return "min_calls must not exceed window (count-based window)";
  if (c.open_for <= Duration::zero())
    return "open_for must be > 0";
  if (!(c.open_backoff_multiplier >= 1.0))
    return "open_backoff_multiplier must be >= 1";
  if (c.max_open_for < c.open_for)
    return "max_open_for must be >= open_for";
  if (c.half_open_calls == 0)
    return "half_open_calls must be > 0";
  if (c.slow_call_rate_threshold > 0 && c.slow_call_duration <= Duration::zero())
    return "slow_call_duration must be > 0 when slow_call_rate is set";
  if (c.history == 0)
    return "history must be > 0";
  return {};
}

// ---- Permit ---------------------------------------------------------------------------------

CircuitBreaker::Permit::Permit(Permit&& o) noexcept
    : breaker_(o.breaker_), epoch_(o.epoch_), probe_(o.probe_), start_(o.start_) {
  o.breaker_ = nullptr;
}

CircuitBreaker::Permit& CircuitBreaker::Permit::operator=(Permit&& o) noexcept {
  if (this != &o) {
    if (breaker_)
      breaker_->on_cancel(*this);
    breaker_ = o.breaker_;
    epoch_ = o.epoch_;
    probe_ = o.probe_;
    start_ = o.start_;
    o.breaker_ = nullptr;
  }
  return *this;
}

CircuitBreaker::Permit::~Permit() {
  if (breaker_)
    breaker_->on_cancel(*this);
}

void CircuitBreaker::Permit::record(CallResult result) {
  if (!breaker_)
    return;
  CircuitBreaker* b = breaker_;
  breaker_ = nullptr;
  b->on_result(*this, result);
}

// ---- CircuitBreaker -------------------------------------------------------------------------

CircuitBreaker::CircuitBreaker(CircuitBreakerConfig config, const Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      count_window_(config_.window_kind == WindowKind::count_based ? config_.window_size : 1),
      time_window_(config_.window_kind == WindowKind::time_based ? config_.window_size : 1,
                   std::chrono::seconds(1)) {
  if (auto err = validate(config_); !err.empty())
    throw std::invalid_argument(err);
}

CircuitBreaker::Permit CircuitBreaker::try_acquire() {
  Pending pending;
  Permit permit;
  const TimePoint now = clock_.now();
  {
    std::lock_guard lock(mu_);
    maybe_half_open(now, pending);
    switch (state_) {
      case BreakerState::closed:
      case BreakerState::disabled:
        permit = Permit(this, epoch_, false, now);
        break;
      case BreakerState::half_open:
        if (probes_issued_ < config_.half_open_calls) {
          ++probes_issued_;
          ++probes_in_flight_;
          permit = Permit(this, epoch_, true, now);
        } else {
          ++not_permitted_;
        }
        break;
      case BreakerState::open:
      case BreakerState::forced_open:
        ++not_permitted_;
        break;
    }
  }
  notify(pending);
  return permit;
}

void CircuitBreaker::on_result(const Permit& p, CallResult result) {
  Pending pending;
  const TimePoint now = clock_.now();
  const Duration elapsed = now - p.start_;
  {
    std::lock_guard lock(mu_);
    const bool slow_rule = config_.slow_call_rate_threshold > 0.0;
    const bool slow = slow_rule && elapsed >= config_.slow_call_duration;

    if (p.probe_) {
      if (p.epoch_ != epoch_ || state_ != BreakerState::half_open)
        return;  // stale probe
      --probes_in_flight_;
      if (result == CallResult::ignored) {
        --probes_issued_;  // someone else may probe instead
      } else if (result == CallResult::failure) {
        trip(now, "half-open probe failed", pending);
      } else if (slow) {
        trip(now,
             "half-open probe was slow (" + millis(elapsed) +
                 " >= " + millis(config_.slow_call_duration) + ")",
             pending);
      } else if (++probe_successes_ >= config_.half_open_calls) {
        transition(BreakerState::closed, now,
                   std::to_string(probe_successes_) + " half-open probes succeeded", pending);
        trips_ = 0;
      }
    } else if (state_ == BreakerState::closed && p.epoch_ == epoch_ &&
               result != CallResult::ignored) {
      // Only calls admitted in this closed period count: an answer to a call admitted before
      // a trip and recovery (or a reset) says nothing about the callee since.
      const bool failure = result == CallResult::failure;
      consecutive_failures_ = failure ? consecutive_failures_ + 1 : 0;
      record_in_window(now, failure, slow);
      const OutcomeCounts w = window_totals(now);
      if (config_.consecutive_failures > 0 &&
          consecutive_failures_ >= config_.consecutive_failures) {
        trip(now, std::to_string(consecutive_failures_) + " consecutive failures", pending);
      } else if (w.calls >= config_.min_calls && config_.failure_rate_threshold > 0.0 &&
                 rate(w.failures, w.calls) >= config_.failure_rate_threshold) {
        trip(now,
             "failure rate " + percent(rate(w.failures, w.calls)) +
                 " >= " + percent(config_.failure_rate_threshold) + " over " +
                 std::to_string(w.calls) + " calls",
             pending);
      } else if (w.calls >= config_.min_calls && slow_rule &&
                 rate(w.slow, w.calls) >= config_.slow_call_rate_threshold) {
        trip(now,
             "slow-call rate " + percent(rate(w.slow, w.calls)) +
                 " >= " + percent(config_.slow_call_rate_threshold) + " over " +
                 std::to_string(w.calls) + " calls",
             pending);
      }
    }
  }
  notify(pending);
}

void CircuitBreaker::on_cancel(const Permit& p) {
  if (!p.probe_)
    return;
  std::lock_guard lock(mu_);
  if (p.epoch_ != epoch_ || state_ != BreakerState::half_open)
    return;
  --probes_in_flight_;
  --probes_issued_;
}

BreakerState CircuitBreaker::state() {
  if (const auto s = published_state_.load(std::memory_order_acquire); s != BreakerState::open)
    return s;  // no state but open changes with time alone
  Pending pending;
  BreakerState s;
  {
    std::lock_guard lock(mu_);
    maybe_half_open(clock_.now(), pending);
    s = state_;
  }
  notify(pending);
  return s;
}

BreakerSnapshot CircuitBreaker::snapshot() {
  Pending pending;
  BreakerSnapshot snap;
  {
    std::lock_guard lock(mu_);
    const TimePoint now = clock_.now();
    maybe_half_open(now, pending);
    snap.state = state_;
    snap.window = window_totals(now);
    snap.failure_rate = rate(snap.window.failures, snap.window.calls);
    snap.slow_call_rate = rate(snap.window.slow, snap.window.calls);
    snap.consecutive_failures = consecutive_failures_;
    snap.half_open_in_flight = probes_in_flight_;
    snap.trips = trips_;
    snap.not_permitted = not_permitted_;
    if (state_ == BreakerState::open || state_ == BreakerState::forced_open ||
        state_ == BreakerState::half_open) {
      snap.open_since = opened_at_;
    }
    if (state_ == BreakerState::open)
      snap.next_probe_at = open_until_;
    snap.recent.assign(history_.begin(), history_.end());
  }
  notify(pending);
  return snap;
}

BreakerCarryOver CircuitBreaker::carry_over() {
  BreakerCarryOver c;
  std::lock_guard lock(mu_);
  const TimePoint now = clock_.now();
  c.state = state_;
  c.trips = trips_;
  c.consecutive_failures = consecutive_failures_;
  if (state_ != BreakerState::closed && state_ != BreakerState::disabled)
    c.open_elapsed = std::max(Duration::zero(), now - opened_at_);
  if (state_ == BreakerState::open)
    c.open_remaining = std::max(Duration::zero(), open_until_ - now);
  for (const auto& t : history_)
    c.recent.push_back({std::max(Duration::zero(), now - t.at), t.from, t.to, t.reason});
  return c;
}

void CircuitBreaker::adopt(const BreakerCarryOver& from, std::string_view reason) {
  Pending pending;
  {
    std::lock_guard lock(mu_);
    const TimePoint now = clock_.now();
    clear_measurements();
    trips_ = from.trips;
    history_.clear();
    for (const auto& t : from.recent)
      history_.push_back({now - t.age, t.from, t.to, t.reason});
    while (history_.size() > config_.history)
      history_.pop_front();
    if (from.state == BreakerState::closed) {
      consecutive_failures_ = from.consecutive_failures;
    } else {
      opened_at_ = now - from.open_elapsed;
      open_until_ = now + from.open_remaining;
      // Half-open has no probes in flight here: it starts its probes afresh.
      state_ = BreakerState::closed;
      const std::string last = from.recent.empty() ? "" : ": " + from.recent.back().reason;
      transition(from.state, now, std::string(reason) + last, pending);
      consecutive_failures_ = from.consecutive_failures;
    }
  }
  notify(pending);
}

void CircuitBreaker::force_open(std::string_view reason) {
  Pending pending;
  {
    std::lock_guard lock(mu_);
    const TimePoint now = clock_.now();
    if (state_ != BreakerState::forced_open)
      opened_at_ = now;
    transition(BreakerState::forced_open, now, "forced open: " + std::string(reason), pending);
  }
  notify(pending);
}

void CircuitBreaker::force_closed(std::string_view reason) {
  Pending pending;
  {
    std::lock_guard lock(mu_);
    consecutive_failures_ = 0;
    transition(BreakerState::closed, clock_.now(), "forced closed: " + std::string(reason),
               pending);
  }
  notify(pending);
}

void CircuitBreaker::disable(std::string_view reason) {
  Pending pending;
  {
    std::lock_guard lock(mu_);
    transition(BreakerState::disabled, clock_.now(), "disabled: " + std::string(reason), pending);
  }
  notify(pending);
}

void CircuitBreaker::reset(std::string_view reason) {
  Pending pending;
  {
    std::lock_guard lock(mu_);
    clear_measurements();
    trips_ = 0;
    transition(BreakerState::closed, clock_.now(), "reset: " + std::string(reason), pending);
  }
  notify(pending);
}

std::optional<TimePoint> CircuitBreaker::next_probe_at() {
  std::lock_guard lock(mu_);
  if (state_ != BreakerState::open)
    return std::nullopt;
  return open_until_;
}

void CircuitBreaker::probe_now(std::string_view reason) {
  Pending pending;
  {
    std::lock_guard lock(mu_);
    if (state_ == BreakerState::open)
      transition(BreakerState::half_open, clock_.now(), "probing early: " + std::string(reason),
                 pending);
  }
  notify(pending);
}

void CircuitBreaker::maybe_half_open(TimePoint now, Pending& out) {
  if (state_ == BreakerState::open && now >= open_until_) {
    transition(BreakerState::half_open, now,
               "open for " + millis(open_until_ - opened_at_) + ", probing", out);
  }
}

void CircuitBreaker::trip(TimePoint now, std::string reason, Pending& out) {
  ++trips_;
  const double factor = std::pow(config_.open_backoff_multiplier, trips_ - 1);
  const double wait = static_cast<double>(config_.open_for.count()) * factor;
  const double cap = static_cast<double>(config_.max_open_for.count());
  opened_at_ = now;
  open_until_ = now + Duration(static_cast<Duration::rep>(std::min(wait, cap)));
  transition(BreakerState::open, now, std::move(reason), out);
}

void CircuitBreaker::transition(BreakerState to, TimePoint now, std::string reason, Pending& out) {
  const BreakerState from = state_;
  state_ = to;
  published_state_.store(to, std::memory_order_release);
  ++epoch_;  // outstanding probes of the previous state no longer count
  probes_issued_ = 0;
  probes_in_flight_ = 0;
  probe_successes_ = 0;
  if (to == BreakerState::closed || to == BreakerState::half_open) {
    // A fresh closed period starts from a clean window; so does a half-open period.
    clear_measurements();
  }
  BreakerTransition t{now, from, to, std::move(reason)};
  history_.push_back(t);
  while (history_.size() > config_.history)
    history_.pop_front();
  out.push_back(std::move(t));
}

void CircuitBreaker::clear_measurements() {
  count_window_.clear();
  time_window_.clear();
  consecutive_failures_ = 0;
}

OutcomeCounts CircuitBreaker::window_totals(TimePoint now) {
  return config_.window_kind == WindowKind::count_based ? count_window_.totals()
                                                        : time_window_.totals(now);
}

void CircuitBreaker::record_in_window(TimePoint now, bool failure, bool slow) {
  if (config_.window_kind == WindowKind::count_based) {
    count_window_.record(failure, slow);
  } else {
    time_window_.add(now, OutcomeCounts{1, failure ? 1u : 0u, slow ? 1u : 0u});
  }
}

void CircuitBreaker::notify(const Pending& pending) const {
  for (const auto& t : pending)
    for (const auto& l : listeners_)
      l(t);
}

}  // namespace medgate::resilience
