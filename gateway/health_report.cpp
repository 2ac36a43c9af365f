#include "gateway/health_report.hpp"

#include <cstdio>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "gateway/http_util.hpp"

namespace medgate::gateway {

namespace json = boost::json;

namespace {

json::string iso_age(resilience::TimePoint at, resilience::TimePoint now) {
  // Monotonic instants have no calendar meaning: report how long ago, in seconds.
  const double secs = std::chrono::duration<double>(now - at).count();
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.3fs ago", secs);
  return json::string(buf);
}

json::object breaker_json(resilience::CircuitBreaker& b, resilience::TimePoint now) {
  const auto s = b.snapshot();
  json::object o{{"state", to_string(s.state)},
                 {"failure_rate", s.failure_rate},
                 {"slow_call_rate", s.slow_call_rate},
                 {"calls_in_window", s.window.calls},
                 {"failures_in_window", s.window.failures},
                 {"consecutive_failures", s.consecutive_failures},
                 {"half_open_in_flight", s.half_open_in_flight},
                 {"not_permitted", s.not_permitted}};
  o["open_since"] = s.open_since ? json::value(iso_age(*s.open_since, now)) : json::value(nullptr);
  o["next_probe_in_seconds"] =
      s.next_probe_at ? json::value(std::chrono::duration<double>(*s.next_probe_at - now).count())
                      : json::value(nullptr);
  json::array transitions;
  for (const auto& t : s.recent) {
    transitions.push_back(json::object{{"from", to_string(t.from)},
                                       {"to", to_string(t.to)},
                                       {"reason", t.reason},
                                       {"at", iso_age(t.at, now)}});
  }
  o["transitions"] = std::move(transitions);
  return o;
}

}  // namespace

clients::WireResponse health_report(UpstreamSet& set, resilience::TimePoint now, bool draining,
                                    bool detail) {
  json::object upstreams;
  size_t down = 0;
  size_t degraded = 0;
  for (auto& up : set.all()) {
    json::object u = breaker_json(up->breaker, now);
    json::array endpoints;
    size_t routable = 0;
    for (size_t i = 0; i < up->size(); ++i) {
      EndpointState& ep = up->endpoint(i);
      const Routability r = up->routability(i);
      routable += r == Routability::routable ? 1 : 0;
      const auto o = ep.outlier.snapshot();
      json::object e{{"url", ep.endpoint.url},
                     {"routable", r == Routability::routable},
                     {"reason", to_string(r)},
                     {"weight", up->weight(i)},
                     {"in_flight", ep.in_flight.load()},
                     {"health_check", up->config().health_check.enabled
                                          ? (ep.health_ok.load() ? "passing" : "failing")
                                          : "off"},
                     {"ejected", o.ejected},
                     {"ejections", o.total_ejections},
                     {"breaker", breaker_json(ep.breaker, now)}};
      if (o.ejected)
        e["ejected_for_seconds"] = std::chrono::duration<double>(o.ejected_until - now).count();
      endpoints.push_back(std::move(e));
    }
    const auto st = up->breaker.state();
    const bool up_down = routable == 0 || st == resilience::BreakerState::open ||
                         st == resilience::BreakerState::forced_open;
    const char* verdict = up_down ? "down"
                          : (routable < up->size() || st == resilience::BreakerState::half_open)
                              ? "degraded"
                              : "ok";
    down += up_down ? 1 : 0;
    degraded += std::string_view(verdict) == "degraded" ? 1 : 0;
    const auto budget = up->budget.snapshot();
    u["status"] = verdict;
    u["endpoints"] = std::move(endpoints);
    u["retry_budget"] = json::object{{"requests_in_window", budget.requests},
                                     {"retries_in_window", budget.retries},
                                     {"allowed", budget.allowed},
                                     {"exhausted_total", budget.exhausted}};
    u["bulkhead"] = json::object{{"in_flight", up->bulkhead.in_flight()},
                                 {"max", up->bulkhead.max_concurrent()},
                                 {"rejected", up->bulkhead.rejected()}};
    upstreams[up->name()] = std::move(u);
  }
  const size_t total = set.all().size();
  const char* overall = total > 0 && down == total   ? "down"
                        : (down > 0 || degraded > 0) ? "degraded"
                                                     : "ok";
  const unsigned status = std::string_view(overall) == "down" ? 503 : 200;
  if (!detail)
    return json_response(status, {{"status", overall}});
  json::object body{
      {"status", overall}, {"draining", draining}, {"upstreams", std::move(upstreams)}};
  return json_response(status, body);
}

}  // namespace medgate::gateway
