// Turns a DrillRecord into figures: times from the fault to detection, breaker, promotion,
// writes resumed and recovery; error rate and latency before, during and after the fault;
// writes lost or applied twice. Pure: no clock, no I/O.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "apps/medgate-drill/drill_record.hpp"

namespace medgate::drill {

// What a scenario expects, as far as measuring is concerned.
struct Expectations {
  std::string write_upstream;        // whose writes resume (empty: none judged)
  bool recovery_from_clear = false;  // recovery counts from the fault's end (both instances
                                     // down: nothing can recover before the restart)
};

struct PhaseStats {
  size_t requests = 0;
  size_t failed = 0;
  size_t stale = 0;
  std::optional<double> p50_ms;  // nullopt without requests
  std::optional<double> p99_ms;
  [[nodiscard]] double error_rate() const {
    return requests == 0 ? 0.0 : static_cast<double>(failed) / static_cast<double>(requests);
  }
};

// A wall-clock step larger than this makes wall-clock-only times unknown.
inline constexpr Ms kClockStepTolerance = 250;

struct Measurements {
  std::optional<Ms> fault_at;  // on the drill's timeline
  std::optional<Ms> cleared_at;
  // From the fault:
  std::optional<Ms> detect_ms;        // first detection: a monitor's confirmed_down, a breaker
                                      // opening or medgate taking an endpoint out
  std::optional<Ms> breaker_open_ms;  // first breaker (upstream or endpoint) to open
  std::optional<Ms> promoted_ms;
  std::optional<Ms> promotion_after_detect_ms;
  std::optional<Ms> writes_resumed_ms;  // end of the longest wait between two acknowledged
                                        // writes of Expectations::write_upstream
  std::optional<Ms> rejoined_ms;
  std::optional<Ms> logged_ms;  // first failure line in a log
  std::string logged_unknown;   // why logged_ms is missing, when it is
  // From the fault, or from its end when Expectations::recovery_from_clear:
  std::optional<Ms> recovery_ms;  // until the end of the last failed request (0: none failed)
  std::optional<Ms> steady_ms;    // until every probe was healthy again
  Ms during_end = 0;              // the "during" phase: fault → max(clear, last failure)
  PhaseStats before, during, after;
  PhaseStats during_portal;  // what the portal's users met: page loads and bookings
  std::map<std::string, PhaseStats> during_by_upstream;
  std::map<std::string, PhaseStats> during_by_op;
  size_t failed_total = 0;
  size_t unexplained_failures = 0;  // failures during the fault that were neither a fast
                                    // explicit 502/503/504 nor a marked stale copy
  // Writes.
  size_t writes = 0;
  size_t writes_acked = 0;
  size_t writes_retried = 0;     // acknowledged after more than one try (same key)
  size_t unknown_outcomes = 0;   // writes some answer left unknown
  size_t unknown_resolved = 0;   // ... later acknowledged under the same key
  size_t writes_unresolved = 0;  // never acknowledged
  std::optional<size_t> lost;    // acknowledged, not on the primary (nullopt: not read back)
  std::optional<size_t> twice;   // on the primary more than once
  size_t two_writable = 0;       // times two writable primaries were seen
  Ms clock_step_ms = 0;          // largest change of (wall - steady) during the drill
};

[[nodiscard]] Measurements measure(const DrillRecord& record, const Expectations& expect);

// The p-th percentile (0..100) by nearest rank; nullopt for no values.
[[nodiscard]] std::optional<double> percentile(std::vector<double> values, double p);

}  // namespace medgate::drill
