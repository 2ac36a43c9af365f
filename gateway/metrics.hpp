// Prometheus metrics (prometheus-cpp core, text exposition served on /metrics).
// Hot-path handles are created at start-up so a request never looks up a label set.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/gateway_config.hpp"
#include "gateway/service_levels.hpp"
#include "resilience/circuit_breaker.hpp"

namespace medgate::gateway {

class UpstreamSet;

enum class AttemptOutcome : uint8_t {
  success,
  http_5xx,
  connect_failed,
  reset,
  timeout,
  bad_response,
  kCount
};
[[nodiscard]] std::string_view to_string(AttemptOutcome o);

enum class Rejection : uint8_t {
  breaker_open,
  bulkhead_full,
  rate_limited,
  no_endpoint,
  budget_exhausted,
  kCount
};
[[nodiscard]] std::string_view to_string(Rejection r);

// One upstream's counters: handles into the Metrics registry, created at start-up, so a
// request never looks up a label set. The Upstream holds its own (no index into a table).
class UpstreamStats {
 public:
  void request() { requests_->Increment(); }
  void attempt(size_t endpoint, AttemptOutcome outcome) {
    endpoints_[endpoint].attempts[static_cast<size_t>(outcome)]->Increment();
  }
  void retry() { retries_->Increment(); }
  void rejected(Rejection why) { rejected_[static_cast<size_t>(why)]->Increment(); }
  void stale_served() { stale_->Increment(); }
  // A write answered 504 outcome_unknown: it may or may not have been applied.
  void outcome_unknown() { unknown_->Increment(); }
  void ejection(size_t endpoint) { endpoints_[endpoint].ejections->Increment(); }

 private:
  friend class Metrics;
  struct EndpointHandles {
    std::array<prometheus::Counter*, static_cast<size_t>(AttemptOutcome::kCount)> attempts{};
    prometheus::Counter* ejections = nullptr;
    std::array<prometheus::Gauge*, 5> state{};
    prometheus::Gauge* in_flight = nullptr;
  };
  prometheus::Counter* requests_ = nullptr;
  prometheus::Counter* retries_ = nullptr;
  prometheus::Counter* stale_ = nullptr;
  prometheus::Counter* unknown_ = nullptr;
  std::array<prometheus::Counter*, static_cast<size_t>(Rejection::kCount)> rejected_{};
  std::array<prometheus::Gauge*, 5> state_{};
  prometheus::Gauge* amplification_ = nullptr;
  prometheus::Gauge* budget_allowed_ = nullptr;
  std::vector<EndpointHandles> endpoints_;
};

class Metrics {
 public:
  // `route_labels`: every route label the gateway will report.
  Metrics(const GatewayConfig& cfg, const std::vector<std::string>& route_labels);

  void request(size_t route, unsigned status, double seconds);
  // cfg.upstreams[i]'s counters; the reference stays valid for the Metrics' lifetime.
  [[nodiscard]] UpstreamStats& upstream(size_t i) { return *upstreams_.at(i); }
  void on_transition(const std::string& upstream, const std::string& endpoint,
                     const resilience::BreakerTransition& t);
  void connection_opened() { connections_->Increment(); }
  void connection_closed() { connections_->Decrement(); }

  // The API routes' totals now (requests, 5xx, latency buckets): the dashboard's service
  // levels when no Prometheus runs. Thread-safe.
  [[nodiscard]] ApiTotals api_totals() const;

  // Refreshes the state gauges from `upstreams` and renders the text exposition format.
  [[nodiscard]] std::string render(UpstreamSet& upstreams);

 private:
  struct RouteHandles {
    std::array<prometheus::Counter*, 6> by_class{};  // 1xx..5xx, other
    prometheus::Histogram* latency = nullptr;
    bool api = false;  // an /api route: counted in the service levels
  };

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* transitions_;
  prometheus::Gauge* connections_;
  std::vector<RouteHandles> routes_;
  std::vector<std::unique_ptr<UpstreamStats>> upstreams_;
};

}  // namespace medgate::gateway
