#include "gateway/builtin_modules.hpp"

#include <charconv>

#include <boost/beast/http/verb.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "gateway/gateway.hpp"
#include "gateway/health_report.hpp"
#include "gateway/http_util.hpp"

namespace medgate::gateway {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

WireResponse status_report(const GatewayConfig& cfg_, resilience::TimePoint started_at,
                           resilience::TimePoint now) {
  const auto uptime = std::chrono::duration<double>(now - started_at).count();
  json::array ups;
  for (const auto& u : cfg_.upstreams) {
    json::array eps;
    for (const auto& e : u.endpoints)
      eps.push_back(json::string(e.url));
    ups.push_back(json::object{{"name", u.name},
                               {"endpoints", std::move(eps)},
                               {"selection", to_string(u.selection)},
                               {"timeout_ms", u.timeout.count()},
                               {"retry_attempts", u.retry.attempts},
                               {"breaker_consecutive_failures", u.breaker.consecutive_failures},
                               {"health_check", u.health_check.enabled}});
  }
  json::array routes;
  for (const auto& r : cfg_.routes)
    routes.push_back(json::object{{"prefix", r.prefix}, {"upstream", r.upstream}});
  json::object body{{"service", "medgate"},
                    {"version", MEDGATE_VERSION},
                    {"config", cfg_.source},
                    {"uptime_seconds", uptime},
                    {"threads", cfg_.threads},
                    {"listen", cfg_.listen.address + ":" + std::to_string(cfg_.listen.port)},
                    {"upstreams", std::move(ups)},
                    {"routes", std::move(routes)}};
  return json_response(200, body);
}

WireResponse admin(Gateway& gw, const WireRequest& req, std::string_view path) {
  UpstreamSet& upstreams_ = gw.upstreams();
  // Authorization: Bearer <token>. With no token configured, admin is closed.
  if (!gw.admin_token_matches(req)) {
    auto res = error_response(401, "unauthorized", "admin token required");
    res.fields.set("WWW-Authenticate", "Bearer realm=\"medgate-admin\"");
    return res;
  }
  if (req.method != http::verb::post)
    return error_response(405, "method_not_allowed", "use POST");
  // /admin/breakers/{upstream}/{action} or /admin/breakers/{upstream}/endpoints/{i}/{action}
  constexpr std::string_view kPrefix = "/admin/breakers/";
  if (!path.starts_with(kPrefix))
    return error_response(404, "not_found", "no such admin endpoint");
  std::vector<std::string_view> parts;
  std::string_view rest = path.substr(kPrefix.size());
  while (!rest.empty()) {
    const size_t slash = rest.find('/');
    parts.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos)
      break;
    rest.remove_prefix(slash + 1);
  }
  if (parts.size() != 2 && parts.size() != 4)
    return error_response(404, "not_found", "expected /admin/breakers/{upstream}/{action}");
  Upstream* up = upstreams_.find(parts[0]);
  if (!up)
    return error_response(404, "unknown_upstream", "no such upstream");
  resilience::CircuitBreaker* breaker = &up->breaker;
  EndpointState* endpoint = nullptr;  // the action's, when it names one
  std::string target = up->name();
  if (parts.size() == 4) {
    size_t idx = 0;
    const char* end = parts[2].data() + parts[2].size();
    const auto r = std::from_chars(parts[2].data(), end, idx);
    if (parts[1] != "endpoints" || r.ec != std::errc{} || r.ptr != end || idx >= up->size())
      return error_response(404, "unknown_endpoint", "no such endpoint index");
    if (up->size() == 1)
      return error_response(409, "single_endpoint",
                            "an upstream of one endpoint has one breaker: act on the upstream");
    endpoint = &up->endpoint(idx);
    breaker = &endpoint->breaker;
    target += " endpoint " + endpoint->endpoint.url;
  }
  const std::string_view action = parts.back();
  if (action == "force-open") {
    breaker->force_open("admin API");
  } else if (action == "force-closed") {
    breaker->force_closed("admin API");
    // The upstream's force-closed means traffic goes: no endpoint layer keeps refusing it.
    if (!endpoint)
      up->clear_endpoint_layers("admin API: the upstream was forced closed");
  } else if (action == "disable") {
    breaker->disable("admin API");
  } else if (action == "reset") {
    breaker->reset("admin API");
    // A clean slate: traffic comes back now, not when an ejection or an endpoint's open
    // period ends.
    if (endpoint)
      endpoint->outlier.reinstate();
    else
      up->clear_endpoint_layers("admin API: the upstream was reset");
  } else {
    return error_response(400, "unknown_action",
                          "action must be force-open, force-closed, disable or reset");
  }
  gw.events().warn("admin: breaker {} {}", target, action);
  return json_response(200, {{"upstream", up->name()},
                             {"target", target},
                             {"action", action},
                             {"state", to_string(breaker->state())}});
}

class HealthModule final : public ApiModule {
 public:
  explicit HealthModule(Gateway& gw) : gw_(gw) {}
  std::vector<std::string> route_labels() const override { return {"/health"}; }
  Exposure exposure() const override { return Exposure::probe; }
  void bind(const ModuleContext& ctx) override { ctx_ = &ctx; }
  std::optional<size_t> match(std::string_view path) const override {
    if (path == "/health" || path.starts_with("/health/"))
      return 0;
    return std::nullopt;
  }
  asio::awaitable<void> handle(const WireRequest& req, std::string_view path, size_t, CallEnv&,
                               RequestInfo& info, WireResponse& res) override {
    auto simple = [](unsigned status, std::string_view state) {
      return json_response(status, {{"status", state}});
    };
    if (path == "/health" && gw_.config().operator_listen && !info.operator_listener)
      res = ctx_->health_report(false);  // the detail is the operator listener's
    else if (path == "/health")
      res = ctx_->operator_refusal(req, info).value_or(ctx_->health_report(true));
    else if (path == "/health/liveness")
      res = simple(200, "alive");
    else if (path == "/health/startup")
      res = gw_.started() ? simple(200, "started") : simple(503, "starting");
    else if (path == "/health/readiness")
      res = gw_.draining()  ? simple(503, "draining")
            : gw_.started() ? simple(200, "ready")
                            : simple(503, "starting");
    else
      res = error_response(404, "not_found", "no such health endpoint");
    co_return;
  }

 private:
  Gateway& gw_;
  const ModuleContext* ctx_ = nullptr;
};

class StatusModule final : public ApiModule {
 public:
  explicit StatusModule(Gateway& gw) : gw_(gw) {}
  std::vector<std::string> route_labels() const override { return {"/status"}; }
  Exposure exposure() const override { return Exposure::operator_only; }
  void bind(const ModuleContext& ctx) override { ctx_ = &ctx; }
  std::optional<size_t> match(std::string_view path) const override {
    return path == "/status" ? std::optional<size_t>(0) : std::nullopt;
  }
  asio::awaitable<void> handle(const WireRequest& req, std::string_view, size_t, CallEnv&,
                               RequestInfo& info, WireResponse& res) override {
    if (auto refused = ctx_->operator_refusal(req, info))
      res = std::move(*refused);
    else
      res = status_report(gw_.config(), gw_.start_time(), gw_.clock().now());
    co_return;
  }

 private:
  Gateway& gw_;
  const ModuleContext* ctx_ = nullptr;
};

class MetricsModule final : public ApiModule {
 public:
  explicit MetricsModule(Gateway& gw) : gw_(gw) {}
  std::vector<std::string> route_labels() const override { return {"/metrics"}; }
  Exposure exposure() const override { return Exposure::operator_only; }
  void bind(const ModuleContext&) override {}
  std::optional<size_t> match(std::string_view path) const override {
    return path == "/metrics" ? std::optional<size_t>(0) : std::nullopt;
  }
  asio::awaitable<void> handle(const WireRequest&, std::string_view, size_t, CallEnv&, RequestInfo&,
                               WireResponse& res) override {
    res = text_response(200, gw_.metrics().render(gw_.upstreams()),
                        "text/plain; version=0.0.4; charset=utf-8");
    co_return;
  }

 private:
  Gateway& gw_;
};

class AdminModule final : public ApiModule {
 public:
  explicit AdminModule(Gateway& gw) : gw_(gw) {}
  std::vector<std::string> route_labels() const override { return {"/admin"}; }
  Exposure exposure() const override { return Exposure::operator_only; }
  void bind(const ModuleContext&) override {}
  std::optional<size_t> match(std::string_view path) const override {
    return path.starts_with("/admin/") ? std::optional<size_t>(0) : std::nullopt;
  }
  asio::awaitable<void> handle(const WireRequest& req, std::string_view path, size_t, CallEnv&,
                               RequestInfo&, WireResponse& res) override {
    res = admin(gw_, req, path);
    co_return;
  }

 private:
  Gateway& gw_;
};

}  // namespace

std::vector<std::unique_ptr<ApiModule>> make_builtin_modules(Gateway& gateway) {
  std::vector<std::unique_ptr<ApiModule>> out;
  out.push_back(std::make_unique<HealthModule>(gateway));
  out.push_back(std::make_unique<StatusModule>(gateway));
  out.push_back(std::make_unique<MetricsModule>(gateway));
  out.push_back(std::make_unique<AdminModule>(gateway));
  return out;
}

}  // namespace medgate::gateway
