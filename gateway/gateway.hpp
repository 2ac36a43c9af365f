// The gateway's request handling: built-in endpoints (/health*, /status, /metrics, /admin),
// configured proxy routes and the APIs of its modules (the portal's), each upstream call
// going through that upstream's policy chain (gateway/upstream_call.hpp).
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

#include "gateway/access_guard.hpp"
#include "gateway/api_module.hpp"
#include "gateway/gateway_config.hpp"
#include "gateway/host_allow_list.hpp"
#include "gateway/metrics.hpp"
#include "gateway/pool_transport.hpp"
#include "gateway/upstream.hpp"
#include "gateway/upstream_call.hpp"
#include "resilience/client_rate_limiter.hpp"
#include "resilience/clock.hpp"

namespace medgate::gateway {

// What one gateway thread owns: its connection pools (behind the Transport seam), its random
// source, and the environment its upstream calls run in. Not movable: `env` refers to the
// other members.
struct ThreadContext {
  ThreadContext(boost::asio::io_context& io, const GatewayConfig& cfg, uint64_t seed,
                const resilience::Clock& clock, spdlog::logger& events);
  ThreadContext(const ThreadContext&) = delete;
  ThreadContext& operator=(const ThreadContext&) = delete;

  PoolTransport transport;
  auth::VerifiedTokenCache tokens;
  std::mt19937_64 rng;
  std::vector<resilience::EndpointView> views;
  CallEnv env;
};

class Gateway {
 public:
  // `modules` answer their own paths (the portal API); each is bound to the upstreams here.
  Gateway(GatewayConfig cfg, const resilience::Clock& clock, std::shared_ptr<spdlog::logger> events,
          std::vector<std::unique_ptr<ApiModule>> modules = {});

  // Answers one request into `out` (cleared first). Not a coroutine itself: a proxied
  // request gets call_upstream's coroutine directly, so the hot path allocates one frame
  // less. `req` and `out` must outlive the returned awaitable.
  [[nodiscard]] boost::asio::awaitable<void> handle(const WireRequest& req, CallEnv& env,
                                                    RequestInfo& info, Reply& out);

  [[nodiscard]] const GatewayConfig& config() const { return cfg_; }
  [[nodiscard]] const resilience::Clock& clock() const { return clock_; }
  [[nodiscard]] UpstreamSet& upstreams() { return upstreams_; }
  [[nodiscard]] Metrics& metrics() { return metrics_; }
  [[nodiscard]] const std::vector<std::string>& route_labels() const { return route_labels_; }
  [[nodiscard]] spdlog::logger& events() { return *events_; }
  [[nodiscard]] const AccessGuard& guard() const { return guard_; }
  [[nodiscard]] const Cors& cors() const { return cors_; }

  void set_started() { started_.store(true); }
  void set_draining() { draining_.store(true); }
  [[nodiscard]] bool draining() const { return draining_.load(); }

  // Route label indices of the gateway's own endpoints; modules' labels follow, then the
  // configured routes'.
  enum BuiltinRoute : size_t {
    kUnmatched = 0,
    kHealth,
    kStatus,
    kMetrics,
    kAdmin,
    kDashboard,
    kDocs,
    kBuiltinCount
  };

 private:
  struct ProxyRoute {
    size_t label;  // into route_labels_
    Upstream* upstream;
  };
  struct BoundModule {
    std::unique_ptr<ApiModule> module;
    size_t first_label;  // its route i is route_labels_[first_label + i]
  };
  // The configured route for `target`, unless the gateway answers that path itself; the
  // target rewritten for the upstream goes into `rewritten`.
  [[nodiscard]] std::optional<ProxyRoute> match_proxy_route(std::string_view target,
                                                            std::string& rewritten);
  [[nodiscard]] bool answers_itself(std::string_view path) const;
  // /health*, /status, /metrics, /admin/*: the gateway's own, outside the access rules.
  [[nodiscard]] static bool is_builtin(std::string_view path);
  // The route label of `path` for metrics and logs when it is refused before routing.
  [[nodiscard]] size_t match_label(std::string_view path) const;
  [[nodiscard]] boost::asio::awaitable<void> handle_local(const WireRequest& req, CallEnv& env,
                                                          RequestInfo& info, Reply& out);
  // `detail` false: the bare verdict ({"status"}), what the public listener shows when an
  // operator listener holds the detail.
  [[nodiscard]] WireResponse health_report(bool detail = true);
  [[nodiscard]] WireResponse status_report();
  // The detailed /health, /status and the dashboard's state show the topology: on a listener
  // beyond loopback they need a staff token or the admin token. Returns the refusal, or
  // nullopt.
  [[nodiscard]] std::optional<WireResponse> operator_refusal(const WireRequest& req,
                                                             const RequestInfo& info) const;
  // With an operator listener, what each listener does not serve: 404 naming the other.
  [[nodiscard]] std::optional<WireResponse> listener_refusal(std::string_view path,
                                                             const RequestInfo& info) const;
  [[nodiscard]] bool admin_token_matches(const WireRequest& req) const;
  // Takes a token from the caller's bucket (its subject's, else its address's): nullopt to
  // go on, or the 429 to answer.
  [[nodiscard]] std::optional<WireResponse> over_client_limit(const RequestInfo& info);
  [[nodiscard]] WireResponse admin(const WireRequest& req, std::string_view path);
  [[nodiscard]] WireResponse dashboard(const WireRequest& req, const RequestInfo& info,
                                       std::string_view path);
  [[nodiscard]] static WireResponse docs(const WireRequest& req, std::string_view path);

  GatewayConfig cfg_;
  const resilience::Clock& clock_;
  std::shared_ptr<spdlog::logger> events_;
  AccessGuard guard_;
  Cors cors_;
  const bool loopback_only_;      // medgate listens on a loopback address
  const bool operator_loopback_;  // the operator listener (if any) is on a loopback address
  const HostAllowList hosts_;
  std::optional<resilience::ClientRateLimiter> client_limiter_;
  std::vector<BoundModule> modules_;
  std::vector<std::string> route_labels_;
  size_t first_configured_ = kBuiltinCount;  // label of cfg_.routes[0]
  Metrics metrics_;
  UpstreamSet upstreams_;
  std::vector<Upstream*> route_upstreams_;  // cfg_.routes[i]'s upstream
  std::atomic<bool> started_{false};
  std::atomic<bool> draining_{false};
  const resilience::TimePoint start_time_;
  // Last: its thread reads metrics_, so it stops first.
  std::unique_ptr<DashboardCollector> dashboard_;
};

}  // namespace medgate::gateway
