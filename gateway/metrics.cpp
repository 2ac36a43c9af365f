#include "gateway/metrics.hpp"

#include <cmath>

#include <prometheus/text_serializer.h>

#include "gateway/upstream.hpp"

namespace medgate::gateway {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

std::string_view to_string(AttemptOutcome o) {
  static constexpr std::array<std::string_view, 6> kNames = {
      "success", "http_5xx", "connect_failed", "reset", "timeout", "bad_response"};
  return kNames[static_cast<size_t>(o)];
}

std::string_view to_string(Rejection r) {
  static constexpr std::array<std::string_view, 5> kNames = {
      "breaker_open", "bulkhead_full", "rate_limited", "no_endpoint", "budget_exhausted"};
  return kNames[static_cast<size_t>(r)];
}

namespace {
constexpr std::array<resilience::BreakerState, 5> kStates = {
    resilience::BreakerState::closed, resilience::BreakerState::open,
    resilience::BreakerState::half_open, resilience::BreakerState::forced_open,
    resilience::BreakerState::disabled};
}

Metrics::Metrics(const GatewayConfig& cfg, const std::vector<std::string>& route_labels)
    : registry_(std::make_shared<prometheus::Registry>()) {
  auto& requests = BuildCounter()
                       .Name("medgate_requests_total")
                       .Help("Downstream requests answered, by route and status class")
                       .Register(*registry_);
  auto& latency = BuildHistogram()
                      .Name("medgate_request_duration_seconds")
                      .Help("Time from request read to response ready, by route")
                      .Register(*registry_);
  const prometheus::Histogram::BucketBoundaries buckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 3, 5, 10};
  static constexpr std::array<const char*, 6> kClasses = {"1xx", "2xx", "3xx",
                                                          "4xx", "5xx", "other"};
  for (const auto& label : route_labels) {
    RouteHandles h;
    for (size_t c = 0; c < kClasses.size(); ++c)
      h.by_class[c] = &requests.Add({{"route", label}, {"code", kClasses[c]}});
    h.latency = &latency.Add({{"route", label}}, buckets);
    h.api = std::string_view(label).starts_with("/api");
    routes_.push_back(h);
  }

  auto& up_requests = BuildCounter()
                          .Name("medgate_upstream_requests_total")
                          .Help("Downstream requests sent to an upstream (before retries)")
                          .Register(*registry_);
  auto& attempts = BuildCounter()
                       .Name("medgate_upstream_attempts_total")
                       .Help("Attempts sent to upstream endpoints, by outcome")
                       .Register(*registry_);
  auto& retries = BuildCounter()
                      .Name("medgate_upstream_retries_total")
                      .Help("Retries granted (attempts beyond the first)")
                      .Register(*registry_);
  auto& rejected = BuildCounter()
                       .Name("medgate_upstream_rejected_total")
                       .Help("Requests or retries refused by a policy, by reason")
                       .Register(*registry_);
  auto& stale = BuildCounter()
                    .Name("medgate_stale_responses_total")
                    .Help("Last-good responses served, marked stale, while unavailable")
                    .Register(*registry_);
  auto& unknown = BuildCounter()
                      .Name("medgate_upstream_unknown_outcomes_total")
                      .Help("Writes answered 504 outcome_unknown: sent, unanswered, maybe applied")
                      .Register(*registry_);
  auto& ejections = BuildCounter()
                        .Name("medgate_endpoint_ejections_total")
                        .Help("Outlier ejections of an endpoint")
                        .Register(*registry_);
  auto& state = BuildGauge()
                    .Name("medgate_breaker_state")
                    .Help("1 for the breaker's current state; endpoint=\"\" is the upstream's")
                    .Register(*registry_);
  auto& in_flight = BuildGauge()
                        .Name("medgate_endpoint_in_flight")
                        .Help("Attempts in flight to an endpoint")
                        .Register(*registry_);
  auto& amplification = BuildGauge()
                            .Name("medgate_upstream_amplification_ratio")
                            .Help("Upstream attempts per downstream request since start")
                            .Register(*registry_);
  auto& budget = BuildGauge()
                     .Name("medgate_retry_budget_allowed")
                     .Help("Retries the budget allows in its current window")
                     .Register(*registry_);
  transitions_ = &BuildCounter()
                      .Name("medgate_breaker_transitions_total")
                      .Help("Breaker state transitions, by target state")
                      .Register(*registry_);
  connections_ = &BuildGauge()
                      .Name("medgate_connections_active")
                      .Help("Open downstream connections")
                      .Register(*registry_)
                      .Add({});

  for (const auto& u : cfg.upstreams) {
    auto h = std::make_unique<UpstreamStats>();
    const prometheus::Labels up{{"upstream", u.name}};
    h->requests_ = &up_requests.Add(up);
    h->retries_ = &retries.Add(up);
    h->stale_ = &stale.Add(up);
    h->unknown_ = &unknown.Add(up);
    for (size_t r = 0; r < h->rejected_.size(); ++r)
      h->rejected_[r] = &rejected.Add(
          {{"upstream", u.name}, {"reason", std::string(to_string(static_cast<Rejection>(r)))}});
    for (size_t s = 0; s < kStates.size(); ++s)
      h->state_[s] = &state.Add(
          {{"upstream", u.name}, {"endpoint", ""}, {"state", std::string(to_string(kStates[s]))}});
    h->amplification_ = &amplification.Add(up);
    h->budget_allowed_ = &budget.Add(up);
    for (const auto& ep : u.endpoints) {
      UpstreamStats::EndpointHandles e;
      for (size_t o = 0; o < e.attempts.size(); ++o)
        e.attempts[o] =
            &attempts.Add({{"upstream", u.name},
                           {"endpoint", ep.url},
                           {"outcome", std::string(to_string(static_cast<AttemptOutcome>(o)))}});
      e.ejections = &ejections.Add({{"upstream", u.name}, {"endpoint", ep.url}});
      for (size_t s = 0; s < kStates.size(); ++s)
        e.state[s] = &state.Add({{"upstream", u.name},
                                 {"endpoint", ep.url},
                                 {"state", std::string(to_string(kStates[s]))}});
      e.in_flight = &in_flight.Add({{"upstream", u.name}, {"endpoint", ep.url}});
      h->endpoints_.push_back(e);
    }
    upstreams_.push_back(std::move(h));
  }
}

void Metrics::request(size_t route, unsigned status, double seconds) {
  if (route >= routes_.size())
    return;
  const size_t cls = status >= 100 && status < 600 ? status / 100 - 1 : 5;
  routes_[route].by_class[cls]->Increment();
  routes_[route].latency->Observe(seconds);
}

ApiTotals Metrics::api_totals() const {
  ApiTotals t;
  t.at = std::chrono::steady_clock::now();
  for (const auto& r : routes_) {
    if (!r.api)
      continue;
    for (const auto* c : r.by_class)
      t.requests += c->Value();
    t.errors += r.by_class[4]->Value();
    const auto h = r.latency->Collect().histogram;
    if (t.bucket_bounds.empty())
      for (const auto& b : h.bucket)
        if (std::isfinite(b.upper_bound))
          t.bucket_bounds.push_back(b.upper_bound);
    t.bucket_counts.resize(t.bucket_bounds.size());
    for (size_t i = 0; i < t.bucket_bounds.size() && i < h.bucket.size(); ++i)
      t.bucket_counts[i] += static_cast<double>(h.bucket[i].cumulative_count);
  }
  return t;
}

void Metrics::on_transition(const std::string& upstream, const std::string& endpoint,
                            const resilience::BreakerTransition& t) {
  // Rare (state changes only), so the label lookup is acceptable here.
  transitions_
      ->Add({{"upstream", upstream}, {"endpoint", endpoint}, {"to", std::string(to_string(t.to))}})
      .Increment();
}

std::string Metrics::render(UpstreamSet& upstreams) {
  for (auto& upp : upstreams.all()) {
    Upstream& up = *upp;
    UpstreamStats& h = up.stats();
    const auto current = up.breaker.state();
    for (size_t s = 0; s < kStates.size(); ++s)
      h.state_[s]->Set(current == kStates[s] ? 1 : 0);
    double attempts = 0;
    for (size_t e = 0; e < up.size(); ++e) {
      auto& eh = h.endpoints_[e];
      const auto es = up.endpoint(e).breaker.state();
      for (size_t s = 0; s < kStates.size(); ++s)
        eh.state[s]->Set(es == kStates[s] ? 1 : 0);
      eh.in_flight->Set(up.endpoint(e).in_flight.load(std::memory_order_relaxed));
      for (auto* c : eh.attempts)
        attempts += c->Value();
    }
    const double requests = h.requests_->Value();
    h.amplification_->Set(requests > 0 ? attempts / requests : 0.0);
    h.budget_allowed_->Set(up.budget.snapshot().allowed);
  }
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace medgate::gateway
