#include "apps/medgate-drill/report.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>

#include <boost/json.hpp>

#include "text/html.hpp"
#include "text/iso_time.hpp"
#include "web/web_assets.hpp"

namespace medgate::drill {
namespace json = boost::json;
namespace {

json::value opt(std::optional<Ms> v) {
  return v ? json::value(*v) : json::value(nullptr);
}
json::value opt(std::optional<double> v) {
  return v ? json::value(*v) : json::value(nullptr);
}
json::value opt(std::optional<size_t> v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::object phase_json(const PhaseStats& p) {
  return {{"requests", p.requests}, {"failed", p.failed},      {"error_rate", p.error_rate()},
          {"stale", p.stale},       {"p50_ms", opt(p.p50_ms)}, {"p99_ms", opt(p.p99_ms)}};
}

std::string seconds(std::optional<Ms> ms) {
  if (!ms)
    return "—";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", static_cast<double>(*ms) / 1000.0);
  return buf;
}

std::string fmt_ms(std::optional<double> ms) {
  if (!ms)
    return "—";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f ms", *ms);
  return buf;
}

std::string percent(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f %%", r * 100.0);
  return buf;
}

std::string verdict_value(const Verdict& v) {
  if (!v.measured)
    return "unknown";
  if (v.unit == "ms")
    return seconds(static_cast<Ms>(*v.measured));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", *v.measured);
  return buf;
}

std::string verdict_target(const Verdict& v) {
  std::string t = v.op == "==" ? "= " : v.op + " ";
  if (v.unit == "ms")
    return t + seconds(static_cast<Ms>(v.target));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", v.target);
  return t + buf;
}

std::string title(const DrillRecord& r) {
  return r.scenario + (r.variant.empty() ? "" : " (" + r.variant + ")");
}

// JSON inside <script>: "</" and "<!--" must not appear.
std::string script_safe(std::string s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '<')
      out += "\\u003c";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::vector<TimelinePoint> timeline(const DrillRecord& r) {
  std::map<Ms, std::vector<const Sample*>> by_second;
  for (const auto& s : r.samples)
    by_second[s.at / 1000].push_back(&s);
  std::vector<TimelinePoint> out;
  const Ms last = std::max<Ms>(r.end / 1000, by_second.empty() ? 0 : by_second.rbegin()->first);
  for (Ms sec = 0; sec <= last; ++sec) {
    TimelinePoint p{.second = sec};
    if (auto it = by_second.find(sec); it != by_second.end()) {
      std::vector<double> lat;
      for (const Sample* s : it->second) {
        ++p.requests;
        p.failed += s->ok ? 0 : 1;
        lat.push_back(s->latency_ms);
      }
      p.p50_ms = percentile(lat, 50).value_or(0);
      p.p99_ms = percentile(lat, 99).value_or(0);
    }
    out.push_back(p);
  }
  return out;
}

json::value to_json(const Report& rep) {
  const auto& r = rep.record;
  const auto& m = rep.measurements;
  json::array verdicts;
  for (const auto& v : rep.verdicts)
    verdicts.push_back(json::object{{"name", v.name},
                                    {"measured", opt(v.measured)},
                                    {"unit", v.unit},
                                    {"op", v.op},
                                    {"target", v.target},
                                    {"outcome", to_string(v.outcome)},
                                    {"note", v.note}});
  json::array events;
  for (const auto& e : r.events)
    events.push_back(json::object{{"at_ms", e.at},
                                  {"source", e.source},
                                  {"kind", e.kind},
                                  {"detail", e.detail},
                                  {"wall_clock", e.wall_clock}});
  json::array line;
  for (const auto& p : timeline(r))
    line.push_back(json::object{{"second", p.second},
                                {"requests", p.requests},
                                {"failed", p.failed},
                                {"p50_ms", p.p50_ms},
                                {"p99_ms", p.p99_ms}});
  json::object by_upstream, by_op;
  for (const auto& [k, p] : m.during_by_upstream)
    by_upstream[k] = phase_json(p);
  for (const auto& [k, p] : m.during_by_op)
    by_op[k] = phase_json(p);
  json::array notes;
  for (const auto& n : r.notes)
    notes.push_back(json::string(n));
  return json::object{
      {"scenario", r.scenario},
      {"variant", r.variant},
      {"target", r.target},
      {"cluster", r.cluster},
      {"started", text::iso8601_utc(r.started_wall_ms)},
      {"duration_ms", r.end},
      {"passed", all_passed(rep.verdicts)},
      {"verdicts", std::move(verdicts)},
      {"measurements",
       json::object{{"fault_at_ms", opt(m.fault_at)},
                    {"cleared_at_ms", opt(m.cleared_at)},
                    {"detect_ms", opt(m.detect_ms)},
                    {"breaker_open_ms", opt(m.breaker_open_ms)},
                    {"promoted_ms", opt(m.promoted_ms)},
                    {"promotion_after_detect_ms", opt(m.promotion_after_detect_ms)},
                    {"writes_resumed_ms", opt(m.writes_resumed_ms)},
                    {"rejoined_ms", opt(m.rejoined_ms)},
                    {"logged_ms", opt(m.logged_ms)},
                    {"logged_unknown", m.logged_unknown},
                    {"recovery_ms", opt(m.recovery_ms)},
                    {"steady_ms", opt(m.steady_ms)},
                    {"clock_step_ms", m.clock_step_ms},
                    {"before", phase_json(m.before)},
                    {"during", phase_json(m.during)},
                    {"during_portal", phase_json(m.during_portal)},
                    {"after", phase_json(m.after)},
                    {"during_by_upstream", std::move(by_upstream)},
                    {"during_by_op", std::move(by_op)},
                    {"failed_total", m.failed_total},
                    {"unexplained_failures", m.unexplained_failures},
                    {"writes", json::object{{"sent", m.writes},
                                            {"acknowledged", m.writes_acked},
                                            {"retried", m.writes_retried},
                                            {"unknown_outcomes", m.unknown_outcomes},
                                            {"unknown_resolved", m.unknown_resolved},
                                            {"unresolved", m.writes_unresolved},
                                            {"lost", opt(m.lost)},
                                            {"applied_twice", opt(m.twice)},
                                            {"read_back_error", r.read_back_error}}},
                    {"two_writable_primaries_seen", m.two_writable}}},
      {"targets", json::object{{"detect_ms", rep.targets.detect_ms},
                               {"promote_after_detect_ms", rep.targets.promote_after_detect_ms},
                               {"recovery_ms", rep.targets.recovery_ms},
                               {"logged_ms", rep.targets.logged_ms},
                               {"p99_during_ms", rep.targets.p99_during_ms},
                               {"rejoin_ms", rep.targets.rejoin_ms}}},
      {"events", std::move(events)},
      {"timeline", std::move(line)},
      {"notes", std::move(notes)}};
}

std::string to_markdown(const Report& rep) {
  const auto& r = rep.record;
  const auto& m = rep.measurements;
  std::string out = "## Drill " + title(r) + ": " +
                    (all_passed(rep.verdicts) ? "PASSED" : "MISSED A TARGET") + "\n\n";
  out += "Started " + text::iso8601_utc(r.started_wall_ms) + ", " + seconds(r.end) +
         " in all; fault: " + (r.target.empty() ? "-" : r.target) + ".\n\n";
  out += "| check | measured | target | result |\n|---|---|---|---|\n";
  for (const auto& v : rep.verdicts)
    out += "| " + v.name + " | " + verdict_value(v) + " | " + verdict_target(v) + " | " +
           to_string(v.outcome) + (v.note.empty() ? "" : " (" + v.note + ")") + " |\n";
  out += "\n| phase | requests | failed | error rate | p50 | p99 |\n|---|---|---|---|---|---|\n";
  for (const auto& [name, p] : {std::pair{"before", &m.before}, std::pair{"during", &m.during},
                                std::pair{"after", &m.after}})
    out += std::string("| ") + name + " | " + std::to_string(p->requests) + " | " +
           std::to_string(p->failed) + " | " + percent(p->error_rate()) + " | " +
           fmt_ms(p->p50_ms) + " | " + fmt_ms(p->p99_ms) + " |\n";
  out += "| during, portal only (pages, bookings) | " + std::to_string(m.during_portal.requests) +
         " | " + std::to_string(m.during_portal.failed) + " | " +
         percent(m.during_portal.error_rate()) + " | " + fmt_ms(m.during_portal.p50_ms) + " | " +
         fmt_ms(m.during_portal.p99_ms) + " |\n";
  out += "\nDuring the fault, by upstream:";
  for (const auto& [k, p] : m.during_by_upstream)
    out += " " + k + " " + std::to_string(p.failed) + "/" + std::to_string(p.requests) +
           " failed (p99 " + fmt_ms(p.p99_ms) + ")" +
           (p.stale ? ", " + std::to_string(p.stale) + " stale copies" : "") + ";";
  out += "\n\nWrites: " + std::to_string(m.writes) + " sent, " + std::to_string(m.writes_acked) +
         " acknowledged (" + std::to_string(m.writes_retried) +
         " after a retry with the same key), " + std::to_string(m.unknown_outcomes) +
         " with an unknown outcome (" + std::to_string(m.unknown_resolved) +
         " resolved by the retry), " + std::to_string(m.writes_unresolved) +
         " never resolved; read back: " +
         (m.lost ? std::to_string(*m.lost) + " lost, " + std::to_string(m.twice.value_or(0)) +
                       " applied twice"
                 : "not possible (" + r.read_back_error + ")") +
         ".\n\n";
  out += "Times from the fault: detected " + seconds(m.detect_ms) + ", breaker open " +
         seconds(m.breaker_open_ms) + ", promoted " + seconds(m.promoted_ms) +
         ", writes acknowledged again " + seconds(m.writes_resumed_ms) + ", logged " +
         seconds(m.logged_ms) + ", steady " + seconds(m.steady_ms) +
         (m.clock_step_ms > kClockStepTolerance
              ? "; the wall clock stepped by " + std::to_string(m.clock_step_ms) + " ms"
              : "") +
         ".\n\n";
  out += "| t (s) | source | event | detail |\n|---|---|---|---|\n";
  const Ms zero = m.fault_at.value_or(0);
  for (const auto& e : r.events) {
    if (e.kind == kind::monitor)
      continue;  // context only: in the JSON
    char t[32];
    std::snprintf(t, sizeof t, "%+.2f", static_cast<double>(e.at - zero) / 1000.0);
    std::string detail = e.detail;
    for (auto& c : detail)
      if (c == '|' || c == '\n')
        c = ' ';
    out += std::string("| ") + t + " | " + e.source + " | " + e.kind + " | " + detail + " |\n";
  }
  for (const auto& n : r.notes)
    out += "\n> " + n + "\n";
  return out + "\n";
}

std::string summary_markdown(const std::vector<Report>& reports) {
  std::string out =
      "| drill | result | detect | promoted | writes again | recovery | lost | "
      "p99 during |\n|---|---|---|---|---|---|---|---|\n";
  for (const auto& rep : reports) {
    const auto& m = rep.measurements;
    out += "| " + title(rep.record) + " | " + (all_passed(rep.verdicts) ? "pass" : "MISSED") +
           " | " + seconds(m.detect_ms) + " | " + seconds(m.promoted_ms) + " | " +
           seconds(m.writes_resumed_ms) + " | " + seconds(m.recovery_ms) + " | " +
           (m.lost ? std::to_string(*m.lost) : "?") + " | " + fmt_ms(m.during.p99_ms) + " |\n";
  }
  return out + "\n";
}

std::string to_html(const Report& rep) {
  std::string md = to_markdown(rep);
  std::string out =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
      "<title>medgate drill: " +
      text::html_escape(title(rep.record)) + "</title><style>";
  out += web::asset("uPlot.min.css");
  out += web::asset("drill-report.css");
  out += "</style></head><body><h1>Drill " + text::html_escape(title(rep.record)) + " — " +
         (all_passed(rep.verdicts) ? "<span class=pass>passed</span>"
                                   : "<span class=fail>missed a target</span>") +
         "</h1><p>Latency (p50, p99) and failed requests per second; the shaded band is the "
         "fault, each line an event (hover for details).</p><div id=chart></div>"
         "<table><thead><tr><th>check</th><th>measured</th><th>target</th><th>result</th></tr>"
         "</thead><tbody>";
  for (const auto& v : rep.verdicts)
    out += "<tr class=" + std::string(to_string(v.outcome)) + "><td>" + text::html_escape(v.name) +
           "</td><td>" + text::html_escape(verdict_value(v)) + "</td><td>" +
           text::html_escape(verdict_target(v)) + "</td><td>" + to_string(v.outcome) +
           (v.note.empty() ? "" : " (" + text::html_escape(v.note) + ")") + "</td></tr>";
  out += "</tbody></table><h2>Report</h2><pre>" + text::html_escape(md) + "</pre>";
  out += "<script id=drill-data type=\"application/json\">" +
         script_safe(json::serialize(to_json(rep))) + "</script><script>";
  out += web::asset("uPlot.iife.min.js");
  out += "</script><script>";
  out += web::asset("drill-report.js");
  out += "</script></body></html>\n";
  return out;
}

}  // namespace medgate::drill
