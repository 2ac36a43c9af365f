#include "apps/medgate-drill/judge.hpp"

#include <charconv>

namespace medgate::drill {
namespace {

Verdict make(std::string name, std::optional<double> measured, std::string unit, std::string op,
             double target, std::string unknown_note = {}) {
  Verdict v{.name = std::move(name),
            .measured = measured,
            .unit = std::move(unit),
            .op = std::move(op),
            .target = target};
  if (!measured) {
    v.outcome = Outcome::unknown;
    v.note = unknown_note.empty() ? "not observed" : std::move(unknown_note);
    return v;
  }
  const double x = *measured;
  const bool ok = v.op == "<=" ? x <= target : v.op == "<" ? x < target : x == target;
  v.outcome = ok ? Outcome::pass : Outcome::fail;
  return v;
}

std::optional<double> as_double(std::optional<Ms> v) {
  return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
}
std::optional<double> as_double(std::optional<size_t> v) {
  return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
}

}  // namespace

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::pass:
      return "pass";
    case Outcome::fail:
      return "fail";
    case Outcome::unknown:
      return "unknown";
  }
  return "unknown";
}

std::vector<Verdict> judge(const Measurements& m, const Targets& t, const Checks& c,
                           bool breaker_closed_after_clear) {
  std::vector<Verdict> out;
  if (!m.fault_at) {
    out.push_back(
        make("fault injected", std::nullopt, "", "==", 1, "the fault was never injected"));
    return out;
  }
  if (c.detection)
    out.push_back(make("time to detect", as_double(m.detect_ms), "ms",
                       "<=", static_cast<double>(t.detect_ms)));
  if (c.breaker_opens)
    out.push_back(make("time to breaker open", as_double(m.breaker_open_ms), "ms",
                       "<=", static_cast<double>(t.detect_ms)));
  if (c.promotion)
    out.push_back(
        make("promotion after detection", as_double(m.promotion_after_detect_ms), "ms",
             "<=", static_cast<double>(t.promote_after_detect_ms),
             m.promoted_ms ? "promoted, but the detection was not seen" : "no promotion observed"));
  if (c.writes)
    out.push_back(make("writes acknowledged again", as_double(m.writes_resumed_ms), "ms", "<",
                       static_cast<double>(t.recovery_ms),
                       "no write was acknowledged after the fault"));
  out.push_back(make("recovery", as_double(m.recovery_ms), "ms", "<",
                     static_cast<double>(t.recovery_ms), "the fault never ended"));
  if (c.breaker_closes)
    out.push_back(make("breaker closed after the restart", breaker_closed_after_clear ? 1.0 : 0.0,
                       "", "==", 1));
  if (c.rejoin)
    out.push_back(make("old primary back as a replica", as_double(m.rejoined_ms), "ms",
                       "<=", static_cast<double>(t.rejoin_ms), "the old primary did not rejoin"));
  if (c.log)
    out.push_back(make("failure logged", as_double(m.logged_ms), "ms",
                       "<=", static_cast<double>(t.logged_ms), m.logged_unknown));
  if (c.p99)
    out.push_back(make("portal p99 during the fault", m.during_portal.p99_ms, "ms", "<=",
                       static_cast<double>(t.p99_during_ms), "no portal request during the fault"));
  if (c.no_failures_of_op) {
    const auto it = m.during_by_op.find(c.fail_free_op);
    out.push_back(make(c.fail_free_op + " failures during the fault",
                       it == m.during_by_op.end()
                           ? std::nullopt
                           : std::optional<double>(static_cast<double>(it->second.failed)),
                       "count", "==", 0, "no " + c.fail_free_op + " request during the fault"));
  }
  for (const auto& up : c.unaffected_upstreams) {
    const auto it = m.during_by_upstream.find(up);
    out.push_back(make(up + " failures during the fault (unaffected)",
                       it == m.during_by_upstream.end()
                           ? std::nullopt
                           : std::optional<double>(static_cast<double>(it->second.failed)),
                       "count", "==", 0, "no " + up + " request during the fault"));
  }
  if (c.no_failures)
    out.push_back(make("failed requests", static_cast<double>(m.failed_total), "count", "==", 0));
  if (c.explicit_failures)
    out.push_back(make("failures not fast and explicit",
                       static_cast<double>(m.unexplained_failures), "count", "==", 0));
  if (c.writes) {
    out.push_back(make("acknowledged writes lost", as_double(m.lost), "count", "==", 0,
                       "the writes could not be read back"));
    out.push_back(make("writes applied twice", as_double(m.twice), "count", "==", 0,
                       "the writes could not be read back"));
    out.push_back(
        make("writes never resolved", static_cast<double>(m.writes_unresolved), "count", "==", 0));
  }
  if (c.writes || c.rejoin)
    out.push_back(
        make("two writable primaries seen", static_cast<double>(m.two_writable), "count", "==", 0));
  return out;
}

bool all_passed(const std::vector<Verdict>& verdicts) {
  for (const auto& v : verdicts)
    if (v.outcome != Outcome::pass)
      return false;
  return !verdicts.empty();
}

std::string set_target(Targets& t, std::string_view a) {
  const size_t eq = a.find('=');
  if (eq == std::string_view::npos)
    return "expected NAME=VALUE, got '" + std::string(a) + "'";
  const std::string_view name = a.substr(0, eq);
  std::string_view value = a.substr(eq + 1);
  int64_t scale = 1;
  if (value.ends_with("ms")) {
    value.remove_suffix(2);
  } else if (value.ends_with("s")) {
    value.remove_suffix(1);
    scale = 1000;
  }
  double number = 0;
  const auto r = std::from_chars(value.data(), value.data() + value.size(), number);
  if (r.ec != std::errc{} || r.ptr != value.data() + value.size() || number < 0 || number > 3.6e6)
    return "target " + std::string(name) + ": '" + std::string(a.substr(eq + 1)) +
           "' is not a duration (e.g. 3s, 500ms)";
  const auto ms = static_cast<Ms>(number * static_cast<double>(scale));
  Ms* field = name == "detect"     ? &t.detect_ms
              : name == "promote"  ? &t.promote_after_detect_ms
              : name == "recovery" ? &t.recovery_ms
              : name == "logged"   ? &t.logged_ms
              : name == "p99"      ? &t.p99_during_ms
              : name == "rejoin"   ? &t.rejoin_ms
                                   : nullptr;
  if (!field)
    return "unknown target '" + std::string(name) +
           "' (detect, promote, recovery, logged, p99, rejoin)";
  *field = ms;
  return {};
}

}  // namespace medgate::drill
