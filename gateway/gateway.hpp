// The gateway's request handling: configured proxy routes, each upstream call going through
// that upstream's policy chain (gateway/upstream_call.hpp), and what it answers itself
// through modules (gateway/api_module.hpp): its own endpoints (health, status, metrics,
// admin) and the ones the application hands it (medgate's: the portal API, its docs, the
// dashboard). It knows no hospital: who may read the operator views is a hook.
#pragma once

#include <atomic>
#include <functional>
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

// What the application decides for the generic core.
struct GatewayHooks {
  // Beyond loopback, whether a caller with a verified token may read the operator views
  // (the detailed /health, /status, the dashboard's state). Unset: no token holder may (the
  // admin token still does).
  std::function<bool(const auth::Principal&)> operator_reader;
};

class Gateway {
 public:
  // `modules` answer their own paths, after the built-in ones; each is bound here.
  Gateway(GatewayConfig cfg, const resilience::Clock& clock, std::shared_ptr<spdlog::logger> events,
          std::vector<std::unique_ptr<ApiModule>> modules = {}, GatewayHooks hooks = {});
  ~Gateway();  // stops the modules (a module's thread may read metrics_) first
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

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
  [[nodiscard]] bool started() const { return started_.load(); }
  [[nodiscard]] bool draining() const { return draining_.load(); }
  [[nodiscard]] resilience::TimePoint start_time() const { return start_time_; }
  [[nodiscard]] bool admin_token_matches(const WireRequest& req) const;
  // Beyond loopback, the operator views need the admin token or a caller the operator rule
  // admits: the refusal, or nullopt.
  [[nodiscard]] std::optional<WireResponse> operator_refusal(const WireRequest& req,
                                                             const RequestInfo& info) const;

  // Route label 0 is "unmatched"; the modules' labels follow (built-in ones first), then the
  // configured routes'.
  static constexpr size_t kUnmatched = 0;

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
  struct ModuleMatch {
    BoundModule* bound;
    size_t route;  // the module's
  };
  [[nodiscard]] std::optional<ModuleMatch> module_for(std::string_view path);
  // The route label of `path` for metrics and logs when it is refused before routing.
  [[nodiscard]] size_t match_label(std::string_view path) const;
  [[nodiscard]] boost::asio::awaitable<void> handle_module(const WireRequest& req, ModuleMatch m,
                                                           CallEnv& env, RequestInfo& info,
                                                           Reply& out);
  // With an operator listener, what each listener does not serve: 404 naming the other.
  [[nodiscard]] std::optional<WireResponse> listener_refusal(const std::optional<ModuleMatch>& m,
                                                             const RequestInfo& info) const;
  // Takes a token from the caller's bucket (its subject's, else its address's): nullopt to
  // go on, or the 429 to answer.
  [[nodiscard]] std::optional<WireResponse> over_client_limit(const RequestInfo& info);

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
  size_t first_configured_ = 1;  // label of cfg_.routes[0]
  Metrics metrics_;
  UpstreamSet upstreams_;
  std::vector<Upstream*> route_upstreams_;  // cfg_.routes[i]'s upstream
  std::atomic<bool> started_{false};
  std::atomic<bool> draining_{false};
  const resilience::TimePoint start_time_;
  const GatewayHooks hooks_;
  std::unique_ptr<ModuleContext> module_context_;
};

}  // namespace medgate::gateway
