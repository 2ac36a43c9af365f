// The gateway's request handling: built-in endpoints (/health*, /status, /metrics, /admin),
// configured proxy routes and the portal API, each upstream call going through that
// upstream's policy chain (rate limit, bulkhead, breaker, endpoint selection, retry).
#pragma once

#include <atomic>
#include <memory>
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

// Result of sending one request through an upstream's policy chain.
struct UpstreamReply {
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

  [[nodiscard]] boost::asio::awaitable<Response> handle(Request req, ThreadContext& tc,
                                                        RequestInfo& info);

  // Sends `req` (target already rewritten) to `upstream` with all its policies.
  [[nodiscard]] boost::asio::awaitable<UpstreamReply> call_upstream(Upstream& upstream, Request req,
                                                                    ThreadContext& tc,
                                                                    RequestInfo& info);

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
