// Runtime state of one upstream, shared by every gateway thread: its breakers, outlier
// detectors, active-health verdicts, retry budget, bulkhead, rate limiter and last-good
// copies. Everything here is thread-safe; the per-thread connection pools live elsewhere.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "clients/connection_pool.hpp"
#include "gateway/gateway_config.hpp"
#include "gateway/metrics.hpp"
#include "resilience/bulkhead.hpp"
#include "resilience/circuit_breaker.hpp"
#include "resilience/endpoint_selector.hpp"
#include "resilience/outlier_detector.hpp"
#include "resilience/rate_limiter.hpp"
#include "resilience/retry_budget.hpp"

namespace medgate::gateway {

// Why an endpoint may or may not take traffic.
enum class Routability : uint8_t { routable, breaker_open, ejected, health_check_failed };
[[nodiscard]] std::string_view to_string(Routability r);

// The endpoint of an upstream that has only one gets a disabled breaker and no outlier
// detection: the upstream's breaker alone decides (docs/resilience.md).
struct EndpointState {
  EndpointState(const clients::HttpEndpoint& ep, const UpstreamConfig& cfg,
                const resilience::Clock& clock);

  const clients::HttpEndpoint endpoint;
  resilience::CircuitBreaker breaker;
  resilience::OutlierDetector outlier;
  std::atomic<uint32_t> in_flight{0};
  std::atomic<bool> health_ok{true};  // active check verdict; true when checks are off
  std::atomic<uint32_t> health_streak{0};
  std::atomic<int64_t> last_unroutable_ns{0};  // drives the ramp-in after a recovery
};

// Last good responses to GETs, served (marked stale) while the upstream is unavailable.
// Bounded in entries and in bytes (the oldest copy goes first). A response the upstream
// marked `no-store` or `private` is never kept: in `Medgate-Cache-Control` when present (a
// targeted field, RFC 9213: the services' instructions to medgate), else in `Cache-Control`.
// A `stale-if-error=N` there bounds the copy's age below the configured max_age.
class StaleStore {
 public:
  explicit StaleStore(StaleConfig cfg) : cfg_(cfg) {}
  [[nodiscard]] bool enabled() const { return cfg_.max_age.count() > 0; }
  // Keeps a copy unless the response forbids it; false when it was not kept.
  bool put(const std::string& key, const clients::WireResponse& res, resilience::TimePoint now);
  // The copy and its age, when one exists that is young enough.
  [[nodiscard]] std::optional<std::pair<clients::WireResponse, resilience::Duration>> get(
      const std::string& key, resilience::TimePoint now);
  [[nodiscard]] size_t bytes();
  [[nodiscard]] size_t entries();

 private:
  struct Entry {
    clients::WireResponse response;
    resilience::TimePoint stored;
    resilience::Duration max_age;
    size_t bytes;
  };
  void evict_oldest();  // under mu_

  const StaleConfig cfg_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  size_t bytes_ = 0;
};

class Upstream {
 public:
  // cfg.upstreams[index]; `stats` are its counters (Metrics::upstream(index)).
  Upstream(const UpstreamConfig& cfg, size_t index, const resilience::Clock& clock,
           UpstreamStats& stats);

  [[nodiscard]] const UpstreamConfig& config() const { return cfg_; }
  [[nodiscard]] const std::string& name() const { return cfg_.name; }
  [[nodiscard]] size_t index() const { return index_; }
  [[nodiscard]] UpstreamStats& stats() { return stats_; }
  [[nodiscard]] size_t size() const { return endpoints_.size(); }
  // Whether endpoint `i` is the only routable one left (then an ejection of it is capped by
  // the breaker's open period, so the breaker's probe can reach it).
  [[nodiscard]] bool last_routable(size_t i);
  // How long until this upstream may take traffic again, as far as its breakers, ejections
  // and health checks tell; zero when it may now. For Retry-After.
  [[nodiscard]] resilience::Duration time_until_available();
  // Every endpoint breaker that is open goes half-open now: the upstream's own probe round
  // (its breaker half-open) decides for them too.
  void probe_open_endpoints(std::string_view reason);
  // An operator's reset or force-closed of the upstream: no layer below it keeps refusing
  // traffic (endpoint breakers reset, ejections ended). Failing health checks stay: they are
  // evidence, not a decision.
  void clear_endpoint_layers(std::string_view reason);
  // Whether one more endpoint may be ejected now (outlier.max_ejection_percent).
  [[nodiscard]] bool may_eject() const;
  [[nodiscard]] EndpointState& endpoint(size_t i) { return *endpoints_[i]; }

  // The verdict now. Health reports call it too, so it records nothing of its own (the
  // breaker may still move from open to half-open when its time has come).
  [[nodiscard]] Routability routability(size_t i);
  // 1..100: below 100 while an endpoint ramps back in after being unroutable.
  [[nodiscard]] uint32_t weight(size_t i);
  // Fills `views` for the selector, and notes unroutable endpoints for the ramp-in.
  void views(std::vector<resilience::EndpointView>& out);

  resilience::CircuitBreaker breaker;
  resilience::RetryBudget budget;
  resilience::Bulkhead bulkhead;
  std::optional<resilience::TokenBucket> limiter;
  resilience::EndpointSelector selector;
  StaleStore stale;

 private:
  const UpstreamConfig& cfg_;
  const size_t index_;
  const resilience::Clock& clock_;
  UpstreamStats& stats_;
  std::vector<std::unique_ptr<EndpointState>> endpoints_;
};

// Every upstream, by name. Built once at start-up; never resized.
class UpstreamSet {
 public:
  // Breaker transitions are counted in `metrics`, which must outlive the set.
  UpstreamSet(const GatewayConfig& cfg, const resilience::Clock& clock, Metrics& metrics);
  [[nodiscard]] Upstream* find(std::string_view name);
  [[nodiscard]] std::vector<std::unique_ptr<Upstream>>& all() { return upstreams_; }

 private:
  std::vector<std::unique_ptr<Upstream>> upstreams_;
};

}  // namespace medgate::gateway
