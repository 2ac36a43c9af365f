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

using clients::Request;
using clients::Response;

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
};

// A response and how it came about: from an upstream through its policy chain (or a stale
// copy, or the gateway's explicit refusal), or from the gateway's own endpoints.
struct Reply {
  Response response;
  bool ok = false;  // a response from the upstream (any status) or a stale copy
  bool stale = false;
  std::string_view endpoint;  // into the configuration
  uint32_t attempts = 0;
};

class Gateway {
 public:
  Gateway(GatewayConfig cfg, const resilience::Clock& clock,
          std::shared_ptr<spdlog::logger> events);

  // Answers one request. Not a coroutine itself: a proxied request gets call_upstream's
  // coroutine directly, so the hot path allocates one frame less.
  [[nodiscard]] boost::asio::awaitable<Reply> handle(Request req, ThreadContext& tc,
                                                     RequestInfo& info);

  // Sends `req` to `upstream` with all its policies. The upstream target is `target`, or the
  // request's own when that is empty (then it must be already rewritten). The response's
  // keep-alive is the client's wish, whatever the upstream said about its own connection.
  [[nodiscard]] boost::asio::awaitable<Reply> call_upstream(Upstream& upstream, Request req,
                                                            ThreadContext& tc, RequestInfo& info,
                                                            std::string target = {});

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
    std::string target;  // rewritten for the upstream
  };
  // The configured route for `target`, unless the gateway answers that path itself.
  [[nodiscard]] std::optional<ProxyRoute> match_proxy_route(std::string_view target);
  [[nodiscard]] boost::asio::awaitable<Reply> handle_local(Request req, ThreadContext& tc,
                                                           RequestInfo& info);
  [[nodiscard]] Response health_report(const Request& req);
  [[nodiscard]] Response status_report(const Request& req);
  [[nodiscard]] Response admin(const Request& req, std::string_view path);
  [[nodiscard]] boost::asio::awaitable<Response> portal_api(Request req, std::string_view path,
                                                            ThreadContext& tc, RequestInfo& info);

  GatewayConfig cfg_;
  const resilience::Clock& clock_;
  std::shared_ptr<spdlog::logger> events_;
  std::vector<std::string> route_labels_;
  Metrics metrics_;
  UpstreamSet upstreams_;
  std::atomic<bool> started_{false};
  std::atomic<bool> draining_{false};
  const resilience::TimePoint start_time_;
};

}  // namespace medgate::gateway
