// Whether this monitor may act on its cluster: pure bookkeeping of a leader lease (no I/O,
// time passed in), fed by whoever talks to the coordination store.
//
// The rule that keeps two monitors from acting at once: a monitor acts only while it holds
// the leader key AND its own estimate of the lease's life has not run out. That estimate is
// taken from the moment the renewal was SENT (the store starts the TTL when it receives the
// request, later), less `margin` for clock-rate differences and the time between the last
// check and the action it allows. A monitor paused past that point (SIGSTOP, a long GC-like
// stall, a slow disk) finds on waking that it may not act, before it hears from the store.
#pragma once

#include <string>

#include "resilience/clock.hpp"

namespace medgate::dbmon {

using resilience::Duration;
using resilience::TimePoint;

class Leadership {
 public:
  explicit Leadership(Duration margin) : margin_(margin) {}

  // A grant or keep-alive sent at `sent` answered with the lease's remaining `ttl`
  // (zero: the lease no longer exists, and with it the leader key).
  void renewed(TimePoint sent, Duration ttl);
  // The campaign's answer: this monitor holds the leader key, or `holder` does (empty: none).
  void holds_key(bool held, std::string holder);
  // A renewal or campaign that got no answer; only the estimate's end matters then.
  void unreachable(std::string why);

  [[nodiscard]] bool may_act(TimePoint now) const;
  // Why not, for /status and the logs; empty when may_act().
  [[nodiscard]] std::string why_not(TimePoint now) const;
  [[nodiscard]] const std::string& holder() const { return holder_; }
  [[nodiscard]] bool has_lease(TimePoint now) const { return now < valid_until_; }
  [[nodiscard]] TimePoint valid_until() const { return valid_until_; }

 private:
  Duration margin_;
  TimePoint valid_until_{};
  bool held_ = false;
  std::string holder_;
  std::string last_error_;
};

}  // namespace medgate::dbmon
