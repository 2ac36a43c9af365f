// The gateway's request handling: built-in endpoints (/health*, /status, /metrics, /admin),
// configured proxy routes and the portal API, each upstream call going through that
// upstream's policy chain (rate limit, bulkhead, breaker, endpoint selection, retry).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "clients/connection_pool.hpp"
#include "gateway/gateway_config.hpp"
#include "gateway/metrics.hpp"
#include "gateway/upstream.hpp"
#include "resilience/clock.hpp"

namespace medgate::gateway {

using clients::WireRequest;
using clients::WireResponse;

// What one gateway thread owns: its connection pools and its random source.
struct ThreadContext {
  ThreadContext(boost::asio::io_context& io, const GatewayConfig& cfg, uint64_t seed);
  boost::asio::io_context& io;
  // pools[upstream][endpoint]
  std::vector<std::vector<std::unique_ptr<clients::ConnectionPool>>> pools;
  std::mt19937_64 rng;
  std::vector<resilience::EndpointView> views;  // scratch for the selector
  [[nodiscard]] double unit_random();
};

// Filled while a request is handled; ends up in the access log.
struct RequestInfo {
  std::string request_id;
  size_t route = 0;  // index into Gateway::route_labels()
  // Views into the configuration, which outlives every request.
  std::string_view upstream;
  std::string_view endpoint;
  uint32_t attempts = 0;
  bool stale = false;
  // A routed request's target as the upstream sees it (before an endpoint's base path).
  std::string upstream_target;

  void clear() {  // keeps the strings' capacity: a session reuses one RequestInfo
    request_id.clear();
    upstream_target.clear();
    route = 0;
    upstream = {};
    endpoint = {};
    attempts = 0;
    stale = false;
  }
};

// A response and how it came about: from an upstream through its policy chain (or a stale
// copy, or the gateway's explicit refusal), or from the gateway's own endpoints.
// A session keeps one and has every request answered into it, so the response's buffers
// keep their capacity from one request to the next.
struct Reply {
  WireResponse response;
  bool ok = false;  // a response from the upstream (any status) or a stale copy
  bool stale = false;
  std::string_view endpoint;  // into the configuration
  uint32_t attempts = 0;

  void clear() {
    response.clear();
    ok = false;
    stale = false;
    endpoint = {};
    attempts = 0;
  }
};

class Gateway {
 public:
  Gateway(GatewayConfig cfg, const resilience::Clock& clock,
          std::shared_ptr<spdlog::logger> events);

  // Answers one request into `out` (cleared first). Not a coroutine itself: a proxied
  // request gets call_upstream's coroutine directly, so the hot path allocates one frame
  // less. `req` and `out` must outlive the returned awaitable.
  [[nodiscard]] boost::asio::awaitable<void> handle(const WireRequest& req, ThreadContext& tc,
                                                    RequestInfo& info, Reply& out);

  // Sends `req` to `upstream` with all its policies, answering into `out` (cleared first).
  // The upstream target is `target`, or the request's own when that is empty (then it must
  // be already rewritten); it must outlive the returned awaitable.
  [[nodiscard]] boost::asio::awaitable<void> call_upstream(Upstream& upstream,
                                                           const WireRequest& req,
                                                           ThreadContext& tc, RequestInfo& info,
                                                           Reply& out,
                                                           std::string_view target = {});

  [[nodiscard]] const GatewayConfig& config() const { return cfg_; }
  [[nodiscard]] UpstreamSet& upstreams() { return upstreams_; }
  [[nodiscard]] Metrics& metrics() { return metrics_; }
  [[nodiscard]] const std::vector<std::string>& route_labels() const { return route_labels_; }
  [[nodiscard]] spdlog::logger& events() { return *events_; }

  void set_started() { started_.store(true); }
  void set_draining() { draining_.store(true); }
  [[nodiscard]] bool draining() const { return draining_.load(); }

  // Route label indices for built-in routes.
  enum BuiltinRoute : size_t {
    kUnmatched = 0,
    kHealth,
    kStatus,
    kMetrics,
    kAdmin,
    kMedicalHistory,
    kDoctors,
    kPayments,
    kPatient,
    kFirstConfigured
  };

 private:
  struct ProxyRoute {
    size_t label;  // into route_labels_
    Upstream* upstream;
  };
  // The configured route for `target`, unless the gateway answers that path itself; the
  // target rewritten for the upstream goes into `rewritten`.
  [[nodiscard]] std::optional<ProxyRoute> match_proxy_route(std::string_view target,
                                                            std::string& rewritten);
  [[nodiscard]] boost::asio::awaitable<void> handle_local(const WireRequest& req, ThreadContext& tc,
                                                          RequestInfo& info, Reply& out);
  [[nodiscard]] WireResponse health_report();
  [[nodiscard]] WireResponse status_report();
  [[nodiscard]] WireResponse admin(const WireRequest& req, std::string_view path);
  [[nodiscard]] boost::asio::awaitable<WireResponse> portal_api(const WireRequest& req,
                                                                std::string_view path,
                                                                ThreadContext& tc,
                                                                RequestInfo& info);

  GatewayConfig cfg_;
  const resilience::Clock& clock_;
  std::shared_ptr<spdlog::logger> events_;
  std::vector<std::string> route_labels_;
  Metrics metrics_;
  UpstreamSet upstreams_;
  std::vector<Upstream*> route_upstreams_;  // cfg_.routes[i]'s upstream
  std::atomic<bool> started_{false};
  std::atomic<bool> draining_{false};
  const resilience::TimePoint start_time_;
};

}  // namespace medgate::gateway
