// What medgate answers itself, beside the routes it proxies: its own endpoints (health,
// status, metrics, admin: gateway/builtin_modules.hpp) and the ones an application hands
// the Gateway at construction (the hospital portal's API and its docs, the dashboard). The
// core stays a generic resilient proxy; what a module knows stays in its module.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/logger.h>
#include <boost/asio/awaitable.hpp>

#include "gateway/metrics.hpp"
#include "gateway/upstream_call.hpp"

namespace medgate::gateway {

// Where a module is served, and under which rules.
enum class Exposure {
  // An API: the access rules and the per-caller rate limit apply; with an operator
  // listener, served on the public listener only.
  api,
  // The operator's pages and data: outside the access rules (a module refuses what it
  // must itself, see ModuleContext::operator_refusal); with an operator listener, served
  // there only.
  operator_only,
  // Probes: outside the access rules, on every listener.
  probe,
};

// What the gateway lends its modules when it binds them; valid for the gateway's lifetime.
struct ModuleContext {
  UpstreamSet& upstreams;
  Metrics& metrics;
  spdlog::logger& events;
  const GatewayConfig& config;
  // Beyond loopback, a detailed view (the topology) needs the admin token or a verified
  // caller the operator rule admits: the refusal to answer, or nullopt.
  std::function<std::optional<WireResponse>(const WireRequest&, const RequestInfo&)>
      operator_refusal;
  // /health's verdict, with the detail per upstream when `detail`.
  std::function<WireResponse(bool detail)> health_report;
};

class ApiModule {
 public:
  virtual ~ApiModule() = default;
  // Route labels for metrics and the access log, e.g. "/api/doctors". Fixed for the
  // module's lifetime.
  [[nodiscard]] virtual std::vector<std::string> route_labels() const = 0;
  [[nodiscard]] virtual Exposure exposure() const { return Exposure::api; }
  // Resolves what it needs (upstreams it calls); called once by the Gateway before any
  // request. Throws std::invalid_argument when something it needs is missing.
  virtual void bind(const ModuleContext& context) = 0;
  // Which of its route_labels() answers `path`, or nullopt when the module has no such path.
  [[nodiscard]] virtual std::optional<size_t> match(std::string_view path) const = 0;
  // Answers `req` (whose path matched `route`) into `out`, cleared first.
  [[nodiscard]] virtual boost::asio::awaitable<void> handle(const WireRequest& req,
                                                            std::string_view path, size_t route,
                                                            CallEnv& env, RequestInfo& info,
                                                            WireResponse& out) = 0;
};

}  // namespace medgate::gateway
