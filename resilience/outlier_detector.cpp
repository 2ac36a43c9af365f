#include "resilience/outlier_detector.hpp"

#include <algorithm>
#include <stdexcept>

namespace medgate::resilience {

std::string validate(const OutlierConfig& c) {
  if (c.consecutive_failures > 0 && c.base_ejection <= Duration::zero())
    return "base_ejection must be > 0";
  if (c.max_ejection < c.base_ejection)
    return "max_ejection must be >= base_ejection";
  if (c.max_ejection_percent > 100)
    return "max_ejection_percent must be within [0, 100]";
  return {};
}

size_t max_ejected(size_t endpoints, uint32_t percent) {
  return std::max<size_t>(1, endpoints * percent / 100);
}

OutlierDetector::OutlierDetector(OutlierConfig config, const Clock& clock)
    : config_(config), clock_(clock) {
  if (auto err = validate(config_); !err.empty())
    throw std::invalid_argument(err);
}

void OutlierDetector::decay(TimePoint now) {
  // One ejection forgiven per base period spent un-ejected since the last one ended.
  if (multiplier_ == 0 || now < until_)
    return;
  const TimePoint from = std::max(until_, last_decay_);
  const auto periods = (now - from) / config_.base_ejection;
  if (periods <= 0)
    return;
  multiplier_ = periods >= multiplier_ ? 0 : multiplier_ - static_cast<uint32_t>(periods);
  last_decay_ = from + periods * config_.base_ejection;
}

void OutlierDetector::publish() {
  until_ns_.store(until_.time_since_epoch().count(), std::memory_order_release);
  clean_.store(consecutive_ == 0 && multiplier_ == 0, std::memory_order_release);
}

bool OutlierDetector::record_failure(bool may_eject, Duration cap) {
  if (config_.consecutive_failures == 0)
    return false;
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  if (now < until_)
    return false;  // already ejected (a late answer from before)
  decay(now);
  if (consecutive_ < config_.consecutive_failures)
    ++consecutive_;
  if (consecutive_ < config_.consecutive_failures || !may_eject) {
    publish();
    return false;
  }
  consecutive_ = 0;
  ++multiplier_;
  ++total_;
  const auto wait =
      std::min({config_.base_ejection * multiplier_, config_.max_ejection, std::max(cap, {})});
  until_ = now + wait;
  last_decay_ = until_;
  publish();
  return true;
}

bool OutlierDetector::reinstate() {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  if (now >= until_)
    return false;
  // Back at once; the multiplier stays, so a relapse is ejected for longer.
  until_ = now;
  last_decay_ = now;
  consecutive_ = 0;
  publish();
  return true;
}

void OutlierDetector::record_success() {
  // Nothing to reset: no lock. A failure counted concurrently is then ordered after this
  // success, as it could have been had both taken the lock.
  if (clean_.load(std::memory_order_acquire))
    return;
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  consecutive_ = 0;
  decay(now);
  publish();
}

bool OutlierDetector::ejected() const {
  return clock_.now().time_since_epoch().count() < until_ns_.load(std::memory_order_acquire);
}

OutlierSnapshot OutlierDetector::snapshot() const {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  return {now < until_, until_, multiplier_, total_, consecutive_};
}

OutlierCarryOver OutlierDetector::carry_over() const {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  // The forgiveness decay() would apply by now, without changing this detector.
  uint32_t multiplier = multiplier_;
  if (multiplier > 0 && now >= until_) {
    const auto periods = (now - std::max(until_, last_decay_)) / config_.base_ejection;
    if (periods > 0)
      multiplier = periods >= multiplier ? 0 : multiplier - static_cast<uint32_t>(periods);
  }
  return {now < until_ ? until_ - now : Duration::zero(), multiplier, total_, consecutive_};
}

void OutlierDetector::adopt(const OutlierCarryOver& from) {
  const TimePoint now = clock_.now();
  std::lock_guard lock(mu_);
  multiplier_ = from.ejections;
  total_ = from.total_ejections;
  consecutive_ = std::min(from.consecutive_failures, config_.consecutive_failures);
  until_ = now + std::max(Duration::zero(), from.ejected_remaining);
  last_decay_ = until_;
  publish();
}

}  // namespace medgate::resilience
