#include "apps/medgate-drill/measure.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace medgate::drill {
namespace {

std::optional<Ms> first_event(const DrillRecord& r, std::string_view kind, Ms from) {
  std::optional<Ms> best;
  for (const auto& e : r.events)
    if (e.kind == kind && e.at >= from && (!best || e.at < *best))
      best = e.at;
  return best;
}

struct PhaseBuilder {
  PhaseStats stats;
  std::vector<double> latencies;
  void add(const Sample& s) {
    ++stats.requests;
    stats.failed += s.ok ? 0 : 1;
    stats.stale += s.stale ? 1 : 0;
    latencies.push_back(s.latency_ms);
  }
  PhaseStats done() {
    stats.p50_ms = percentile(latencies, 50);
    stats.p99_ms = percentile(latencies, 99);
    return stats;
  }
};

Ms sample_end(const Sample& s) {
  return s.at + static_cast<Ms>(std::ceil(s.latency_ms));
}

// A failure a user can act on at once: an explicit "unavailable" answered quickly.
bool explained(const Sample& s) {
  return (s.status == 502 || s.status == 503 || s.status == 504 || s.degraded || s.stale) &&
         s.latency_ms <= 1000.0;
}

}  // namespace

std::optional<double> percentile(std::vector<double> values, double p) {
  if (values.empty())
    return std::nullopt;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

Measurements measure(const DrillRecord& r, const Expectations& expect) {
  Measurements m;
  // Clocks first: a step decides what the wall-clock-only events are worth.
  if (!r.clocks.empty()) {
    const auto [lo, hi] = std::minmax_element(r.clocks.begin(), r.clocks.end(),
                                              [](const ClockReading& a, const ClockReading& b) {
                                                return a.wall_ms - a.steady < b.wall_ms - b.steady;
                                              });
    m.clock_step_ms = (hi->wall_ms - hi->steady) - (lo->wall_ms - lo->steady);
  }

  m.fault_at = first_event(r, kind::fault, 0);
  if (!m.fault_at) {
    // No fault, nothing to measure against: only the overall figures.
    PhaseBuilder all;
    for (const auto& s : r.samples)
      all.add(s);
    m.before = all.done();
    return m;
  }
  const Ms fault = *m.fault_at;
  m.cleared_at = first_event(r, kind::fault_cleared, fault);

  auto since_fault = [&](std::optional<Ms> at) -> std::optional<Ms> {
    return at ? std::optional<Ms>(*at - fault) : std::nullopt;
  };
  const auto breaker = first_event(r, kind::breaker_open, fault);
  const auto out = first_event(r, kind::endpoint_out, fault);
  const auto confirmed = first_event(r, kind::detected, fault);
  std::optional<Ms> detect;
  for (const auto& t : {breaker, out, confirmed})
    if (t && (!detect || *t < *detect))
      detect = t;
  m.detect_ms = since_fault(detect);
  m.breaker_open_ms = since_fault(breaker);
  const auto promoted = first_event(r, kind::promoted, fault);
  m.promoted_ms = since_fault(promoted);
  if (promoted && confirmed)
    m.promotion_after_detect_ms = *promoted - *confirmed;
  m.rejoined_ms = since_fault(first_event(r, kind::rejoined, fault));

  // The first failure in a log is a wall-clock reading: worthless across a clock step.
  if (m.clock_step_ms > kClockStepTolerance) {
    m.logged_unknown = "the wall clock stepped by " + std::to_string(m.clock_step_ms) +
                       " ms during the drill; log timestamps cannot be compared";
  } else if (auto logged = first_event(r, kind::logged, fault)) {
    m.logged_ms = *logged - fault;
  } else {
    m.logged_unknown = "no log line reported the failure";
  }
  for (const auto& e : r.events)
    m.two_writable += e.kind == kind::two_writable ? 1 : 0;

  // Recovery: until the end of the last failed request after the reference.
  const Ms reference = expect.recovery_from_clear && m.cleared_at ? *m.cleared_at : fault;
  Ms last_failure_end = -1;
  for (const auto& s : r.samples)
    if (!s.ok && s.at >= fault)
      last_failure_end = std::max(last_failure_end, sample_end(s));
  m.recovery_ms = std::max<Ms>(0, last_failure_end - reference);
  if (expect.recovery_from_clear && !m.cleared_at)
    m.recovery_ms.reset();  // never cleared: never recovered
  if (auto steady = first_event(r, kind::steady, reference))
    m.steady_ms = *steady - reference;

  // Phases: before the fault, during it (to its end or the last failure), after.
  m.during_end = std::max({m.cleared_at.value_or(fault), last_failure_end, fault});
  PhaseBuilder before, during, after, portal;
  std::map<std::string, PhaseBuilder> by_upstream, by_op;
  for (const auto& s : r.samples) {
    m.failed_total += s.ok ? 0 : 1;
    if (s.at < fault) {
      before.add(s);
    } else if (s.at <= m.during_end) {
      during.add(s);
      if (s.op == "page" || s.op == "book")
        portal.add(s);
      by_upstream[s.upstream].add(s);
      by_op[s.op].add(s);
      if (!s.ok && !explained(s) && !s.unknown)
        ++m.unexplained_failures;
    } else {
      after.add(s);
    }
  }
  m.before = before.done();
  m.during = during.done();
  m.after = after.done();
  m.during_portal = portal.done();
  for (auto& [k, b] : by_upstream)
    m.during_by_upstream[k] = b.done();
  for (auto& [k, b] : by_op)
    m.during_by_op[k] = b.done();

  // Writes: tries, unknown outcomes, and when writes were acknowledged again: the first
  // acknowledgement of a write sent at or after the fault. (The widest gap between
  // acknowledgements would also count a lull in the offered load long after recovery; an
  // acknowledgement just after the fault of a write sent before it says nothing about the
  // fault.)
  std::optional<Ms> resumed;
  for (const auto& w : r.writes) {
    ++m.writes;
    if (w.acked_at) {
      ++m.writes_acked;
      m.writes_retried += w.tries > 1 ? 1 : 0;
    } else {
      ++m.writes_unresolved;
    }
    if (w.unknown_seen) {
      ++m.unknown_outcomes;
      m.unknown_resolved += w.acked_at ? 1 : 0;
    }
    if (w.acked_at && w.first_sent >= fault &&
        (expect.write_upstream.empty() || w.upstream == expect.write_upstream))
      resumed = resumed ? std::min(*resumed, *w.acked_at) : *w.acked_at;
  }
  if (!expect.write_upstream.empty() && resumed)
    m.writes_resumed_ms = std::max<Ms>(0, *resumed - fault);

  // Read-back: every acknowledged write exactly once.
  if (r.read_back_error.empty()) {
    std::map<std::string, int> copies;
    for (const auto& b : r.read_back)
      copies[b.key] = b.copies;
    size_t lost = 0, twice = 0;
    for (const auto& w : r.writes) {
      const auto it = copies.find(w.key);
      const int n = it == copies.end() ? 0 : it->second;
      if (w.acked_at && n == 0)
        ++lost;
      if (n > 1)
        ++twice;
    }
    m.lost = lost;
    m.twice = twice;
  }
  return m;
}

}  // namespace medgate::drill
