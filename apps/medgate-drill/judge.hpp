// Judges Measurements against the targets a scenario holds itself to. A figure that could
// not be measured is "unknown", and unknown is not a pass: a drill proves, it does not hope.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "apps/medgate-drill/measure.hpp"

namespace medgate::drill {

struct Targets {  // configurable: medgate-drill --target NAME=VALUE
  Ms detect_ms = 3000;
  Ms promote_after_detect_ms = 5000;
  Ms recovery_ms = 10000;  // strictly below
  Ms logged_ms = 1000;
  Ms p99_during_ms = 1000;
  Ms rejoin_ms = 60000;
};

// Which targets and checks apply to a scenario.
struct Checks {
  bool detection = false;
  bool breaker_opens = false;
  bool breaker_closes = false;  // after the fault's end
  bool promotion = false;
  bool writes = false;  // lost / twice / resumed / two writable
  bool rejoin = false;
  bool log = true;
  bool p99 = true;
  bool no_failures_of_op = false;  // fail_free_op must see no failure during the fault
  std::string fail_free_op;
  std::vector<std::string> unaffected_upstreams;  // no failure there during the fault
  bool explicit_failures = false;  // every failure a fast explicit 5xx or a stale copy
  bool no_failures = false;        // not one failed request in the whole drill
};

enum class Outcome { pass, fail, unknown };
[[nodiscard]] const char* to_string(Outcome o);

struct Verdict {
  std::string name;
  std::optional<double> measured;  // nullopt: unknown
  std::string unit;                // ms, count
  std::string op;                  // <=, <, ==
  double target = 0;
  Outcome outcome = Outcome::unknown;
  std::string note;
};

[[nodiscard]] std::vector<Verdict> judge(const Measurements& m, const Targets& targets,
                                         const Checks& checks, bool breaker_closed_after_clear);

// True when every verdict passed.
[[nodiscard]] bool all_passed(const std::vector<Verdict>& verdicts);

// Parses "NAME=VALUE" into targets (detect, promote, recovery, logged, p99, rejoin; values
// in ms, or with an s suffix). Returns an error message, empty on success.
[[nodiscard]] std::string set_target(Targets& t, std::string_view assignment);

}  // namespace medgate::drill
