#include "gateway/gateway.hpp"

#include <charconv>

#include <boost/beast/http/field.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "auth/canonical_path.hpp"
#include "gateway/http_util.hpp"
#include "http/secure_equals.hpp"
#include "web/web_assets.hpp"

namespace medgate::gateway {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

ThreadContext::ThreadContext(asio::io_context& io, const GatewayConfig& cfg, uint64_t seed,
                             const resilience::Clock& clock, spdlog::logger& events)
    : transport(io, cfg), rng(seed), env{clock, transport, rng, views, events, &tokens} {}

namespace {

std::vector<std::string> builtin_route_labels() {
  return {"unmatched", "/health", "/status", "/metrics", "/admin", "/dashboard", "/docs"};
}

json::string iso_age(resilience::TimePoint at, resilience::TimePoint now) {
  // Monotonic instants have no calendar meaning: report how long ago, in seconds.
  const double secs = std::chrono::duration<double>(now - at).count();
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.3fs ago", secs);
  return json::string(buf);
}

json::object breaker_json(resilience::CircuitBreaker& b, resilience::TimePoint now) {
  const auto s = b.snapshot();
  json::object o{{"state", to_string(s.state)},
                 {"failure_rate", s.failure_rate},
                 {"slow_call_rate", s.slow_call_rate},
                 {"calls_in_window", s.window.calls},
                 {"failures_in_window", s.window.failures},
                 {"consecutive_failures", s.consecutive_failures},
                 {"half_open_in_flight", s.half_open_in_flight},
                 {"not_permitted", s.not_permitted}};
  o["open_since"] = s.open_since ? json::value(iso_age(*s.open_since, now)) : json::value(nullptr);
  o["next_probe_in_seconds"] =
      s.next_probe_at ? json::value(std::chrono::duration<double>(*s.next_probe_at - now).count())
                      : json::value(nullptr);
  json::array transitions;
  for (const auto& t : s.recent) {
    transitions.push_back(json::object{{"from", to_string(t.from)},
                                       {"to", to_string(t.to)},
                                       {"reason", t.reason},
                                       {"at", iso_age(t.at, now)}});
  }
  o["transitions"] = std::move(transitions);
  return o;
}

}  // namespace

Gateway::Gateway(GatewayConfig cfg, const resilience::Clock& clock,
                 std::shared_ptr<spdlog::logger> events,
                 std::vector<std::unique_ptr<ApiModule>> modules)
    : cfg_(std::move(cfg)),
      clock_(clock),
      events_(std::move(events)),
      guard_(cfg_.auth),
      cors_(cfg_.cors),
      loopback_only_(boost::asio::ip::make_address(cfg_.listen.address).is_loopback()),
      operator_loopback_(
          cfg_.operator_listen &&
          boost::asio::ip::make_address(cfg_.operator_listen->address).is_loopback()),
      hosts_(cfg_.listen.allowed_hosts),
      route_labels_(builtin_route_labels()),
      metrics_(cfg_,
               [&] {
                 // Labels: the gateway's own, each module's, then the configured routes'.
                 for (auto& m : modules) {
                   modules_.push_back({std::move(m), route_labels_.size()});
                   for (auto& label : modules_.back().module->route_labels())
                     route_labels_.push_back(std::move(label));
                 }
                 first_configured_ = route_labels_.size();
                 for (const auto& r : cfg_.routes)
                   route_labels_.push_back(r.prefix);
                 return route_labels_;
               }()),
      upstreams_(cfg_, clock, metrics_),
      start_time_(clock.now()) {
  if (cfg_.client_rate_limit.enabled)
    client_limiter_.emplace(cfg_.client_rate_limit.rate, cfg_.client_rate_limit.burst,
                            cfg_.client_rate_limit.max_clients, clock);
  for (const auto& route : cfg_.routes)
    route_upstreams_.push_back(upstreams_.find(route.upstream));
  if (cfg_.dashboard.enabled)
    dashboard_ = std::make_unique<DashboardCollector>(cfg_.dashboard,
                                                      [this] { return metrics_.api_totals(); });
  for (auto& m : modules_)
    m.module->bind(upstreams_);
  // Every breaker transition is logged the moment it happens.
  for (auto& up : upstreams_.all()) {
    auto log_transition = [ev = events_, name = up->name()](const std::string& endpoint) {
      return [ev, name, endpoint](const resilience::BreakerTransition& t) {
        const auto level =
            t.to == resilience::BreakerState::closed ? spdlog::level::info : spdlog::level::warn;
        ev->log(level, "breaker {}{}{}: {} -> {} ({})", name, endpoint.empty() ? "" : " endpoint ",
                endpoint, to_string(t.from), to_string(t.to), t.reason);
      };
    };
    up->breaker.add_listener(log_transition(""));
    for (size_t i = 0; i < up->size(); ++i)
      up->endpoint(i).breaker.add_listener(log_transition(up->endpoint(i).endpoint.url));
  }
}

bool Gateway::answers_itself(std::string_view path) const {
  if (is_builtin(path))
    return true;
  for (const auto& m : modules_)
    if (m.module->match(path))
      return true;
  return false;
}

std::optional<Gateway::ProxyRoute> Gateway::match_proxy_route(std::string_view target,
                                                              std::string& rewritten) {
  if (answers_itself(path_of(target)))
    return std::nullopt;
  for (size_t i = 0; i < cfg_.routes.size(); ++i) {
    const RouteConfig& route = cfg_.routes[i];
    if (!target.starts_with(route.prefix))
      continue;
    const std::string_view rest = target.substr(route.strip_prefix.size());
    const std::string_view head = route.add_prefix.empty() ? rest : route.add_prefix;
    rewritten.clear();
    if (head.empty() || head.front() != '/')
      rewritten.push_back('/');  // the upstream target is always absolute
    rewritten.append(route.add_prefix).append(rest);
    return ProxyRoute{first_configured_ + i, route_upstreams_[i]};
  }
  return std::nullopt;
}

namespace {

asio::awaitable<void> answered() {
  co_return;
}

}  // namespace

asio::awaitable<void> Gateway::handle(const WireRequest& req, CallEnv& env, RequestInfo& info,
                                      Reply& out) {
  // Before anything else: a name medgate does not answer to is a rebound DNS name (or a
  // misrouted request), and learns nothing, not even which paths exist.
  if (!hosts_.allows(req.fields.find(http::field::host))) {
    out.clear();
    out.response = error_response(421, "misdirected_request",
                                  "medgate does not answer to this Host (listen.allowed_hosts)");
    info.route = kUnmatched;
    return answered();
  }
  const std::string_view raw_path = path_of(req.target);
  std::string_view target = req.target;
  std::string canonical_target;  // when the path needed canonicalizing: it and the query
  if (auth::may_need_canonicalizing(raw_path)) {
    auto canonical = auth::canonical_path(raw_path);
    if (!canonical) {
      out.clear();
      out.response = error_response(400, "invalid_path",
                                    "the path has an encoded '/' or '\\', a control character, "
                                    "or '..' above the root");
      return answered();
    }
    info.path = std::move(*canonical);
    canonical_target = info.path;
    if (const auto q = query_of(req.target); !q.empty())
      canonical_target.append("?").append(q);
    target = canonical_target;
  } else {
    info.path.assign(raw_path);
  }
  if (auto pre = cors_.preflight(req)) {
    out.clear();
    out.response = std::move(*pre);
    info.route = match_label(info.path);
    return answered();
  }
  if (auto elsewhere = listener_refusal(info.path, info)) {
    out.clear();
    out.response = std::move(*elsewhere);
    info.route = kUnmatched;
    return answered();
  }
  if (is_builtin(info.path))
    return handle_local(req, env, info, out);
  auto refusal = guard_.check(req, info, env.tokens);
  if (auto limited = over_client_limit(info))
    refusal = std::move(limited);  // a caller over its rate learns that first
  if (refusal) {
    out.clear();
    out.response = std::move(*refusal);
    info.route = match_label(info.path);
    return answered();
  }
  if (auto route = match_proxy_route(target, info.upstream_target)) {
    info.route = route->label;
    return call_upstream(*route->upstream, req, info.upstream_target, env, info, out);
  }
  return handle_local(req, env, info, out);
}

bool Gateway::is_builtin(std::string_view path) {
  return path == "/health" || path.starts_with("/health/") || path == "/status" ||
         path == "/metrics" || path.starts_with("/admin/") || path == "/dashboard" ||
         path.starts_with("/dashboard/") || path == "/docs" || path.starts_with("/docs/") ||
         path == "/openapi.json";
}

size_t Gateway::match_label(std::string_view path) const {
  for (const auto& m : modules_)
    if (auto route = m.module->match(path))
      return m.first_label + *route;
  for (size_t i = 0; i < cfg_.routes.size(); ++i)
    if (path.starts_with(cfg_.routes[i].prefix))
      return first_configured_ + i;
  return kUnmatched;
}

std::optional<WireResponse> Gateway::over_client_limit(const RequestInfo& info) {
  if (!client_limiter_)
    return std::nullopt;
  // A verified caller is limited by who it is (the portal's patients share its address);
  // anyone else by address.
  std::string key = info.subject.empty() ? "addr:" + info.client : "sub:" + info.subject;
  const auto v = client_limiter_->try_acquire(key);
  if (v.allowed)
    return std::nullopt;
  const auto secs =
      std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(v.retry_after).count());
  auto res = json_response(429, {{"error", "rate_limited"},
                                 {"message", "too many requests from this caller"},
                                 {"retry_after_seconds", secs}});
  res.fields.set("Retry-After", std::to_string(secs));
  return res;
}

bool Gateway::admin_token_matches(const WireRequest& req) const {
  std::string_view given;
  if (auto h = req.fields.find(http::field::authorization); h && h->starts_with("Bearer "))
    given = h->substr(7);
  return !cfg_.admin_token.empty() && httpd::secure_equals(given, cfg_.admin_token);
}

std::optional<WireResponse> Gateway::listener_refusal(std::string_view path,
                                                      const RequestInfo& info) const {
  if (!cfg_.operator_listen)
    return std::nullopt;
  const bool probe = path.starts_with("/health/");
  if (info.operator_listener) {
    if (is_builtin(path))
      return std::nullopt;
    return error_response(404, "not_found",
                          "the operator listener serves no API: use medgate's public listener");
  }
  if (!is_builtin(path) || probe || path == "/health")
    return std::nullopt;
  return error_response(404, "not_found",
                        "served on medgate's operator listener only (operator_listen)");
}

std::optional<WireResponse> Gateway::operator_refusal(const WireRequest& req,
                                                      const RequestInfo& info) const {
  const bool local = info.operator_listener ? operator_loopback_ : loopback_only_;
  if (local || !guard_.enabled() || admin_token_matches(req))
    return std::nullopt;
  const auto who = guard_.principal(req);
  if (who && !who->roles.has(auth::Role::patient))
    return std::nullopt;
  auto res = error_response(who ? 403 : 401, who ? "forbidden" : "unauthorized",
                            "the detailed health and status need a staff or admin token");
  if (!who)
    res.fields.set("WWW-Authenticate", "Bearer realm=\"medgate\"");
  return res;
}

asio::awaitable<void> Gateway::handle_local(const WireRequest& req, CallEnv& env, RequestInfo& info,
                                            Reply& out) {
  out.clear();
  const std::string_view path = info.path;
  auto simple = [&](unsigned status, std::string_view state) {
    return json_response(status, {{"status", state}});
  };
  WireResponse& res = out.response;

  if (path == "/health" || path.starts_with("/health/")) {
    info.route = kHealth;
    if (path == "/health" && cfg_.operator_listen && !info.operator_listener)
      res = health_report(false);  // the detail is the operator listener's
    else if (path == "/health")
      res = operator_refusal(req, info).value_or(health_report());
    else if (path == "/health/liveness")
      res = simple(200, "alive");
    else if (path == "/health/startup")
      res = started_ ? simple(200, "started") : simple(503, "starting");
    else if (path == "/health/readiness")
      res = draining() ? simple(503, "draining")
            : started_ ? simple(200, "ready")
                       : simple(503, "starting");
    else
      res = error_response(404, "not_found", "no such health endpoint");
    co_return;
  }
  if (path == "/status") {
    info.route = kStatus;
    if (auto refused = operator_refusal(req, info))
      res = std::move(*refused);
    else
      res = status_report();
    co_return;
  }
  if (path == "/metrics") {
    info.route = kMetrics;
    res =
        text_response(200, metrics_.render(upstreams_), "text/plain; version=0.0.4; charset=utf-8");
    co_return;
  }
  if (path.starts_with("/admin/")) {
    info.route = kAdmin;
    res = admin(req, path);
    co_return;
  }
  if (path == "/dashboard" || path.starts_with("/dashboard/")) {
    info.route = kDashboard;
    res = dashboard(req, info, path);
    co_return;
  }
  if (path == "/docs" || path.starts_with("/docs/") || path == "/openapi.json") {
    info.route = kDocs;
    res = docs(req, path);
    co_return;
  }
  for (auto& m : modules_) {
    if (auto route = m.module->match(path)) {
      info.route = m.first_label + *route;
      co_await m.module->handle(req, path, *route, env, info, res);
      co_return;
    }
  }
  info.route = kUnmatched;
  res = error_response(404, "not_found", "no route for this path");
}

WireResponse Gateway::health_report(bool detail) {
  const auto now = clock_.now();
  json::object upstreams;
  size_t down = 0;
  size_t degraded = 0;
  for (auto& up : upstreams_.all()) {
    json::object u = breaker_json(up->breaker, now);
    json::array endpoints;
    size_t routable = 0;
    for (size_t i = 0; i < up->size(); ++i) {
      EndpointState& ep = up->endpoint(i);
      const Routability r = up->routability(i);
      routable += r == Routability::routable ? 1 : 0;
      const auto o = ep.outlier.snapshot();
      json::object e{{"url", ep.endpoint.url},
                     {"routable", r == Routability::routable},
                     {"reason", to_string(r)},
                     {"weight", up->weight(i)},
                     {"in_flight", ep.in_flight.load()},
                     {"health_check", up->config().health_check.enabled
                                          ? (ep.health_ok.load() ? "passing" : "failing")
                                          : "off"},
                     {"ejected", o.ejected},
                     {"ejections", o.total_ejections},
                     {"breaker", breaker_json(ep.breaker, now)}};
      if (o.ejected)
        e["ejected_for_seconds"] = std::chrono::duration<double>(o.ejected_until - now).count();
      endpoints.push_back(std::move(e));
    }
    const auto st = up->breaker.state();
    const bool up_down = routable == 0 || st == resilience::BreakerState::open ||
                         st == resilience::BreakerState::forced_open;
    const char* verdict = up_down ? "down"
                          : (routable < up->size() || st == resilience::BreakerState::half_open)
                              ? "degraded"
                              : "ok";
    down += up_down ? 1 : 0;
    degraded += std::string_view(verdict) == "degraded" ? 1 : 0;
    const auto budget = up->budget.snapshot();
    u["status"] = verdict;
    u["endpoints"] = std::move(endpoints);
    u["retry_budget"] = json::object{{"requests_in_window", budget.requests},
                                     {"retries_in_window", budget.retries},
                                     {"allowed", budget.allowed},
                                     {"exhausted_total", budget.exhausted}};
    u["bulkhead"] = json::object{{"in_flight", up->bulkhead.in_flight()},
                                 {"max", up->bulkhead.max_concurrent()},
                                 {"rejected", up->bulkhead.rejected()}};
    upstreams[up->name()] = std::move(u);
  }
  const size_t total = upstreams_.all().size();
  const char* overall = total > 0 && down == total   ? "down"
                        : (down > 0 || degraded > 0) ? "degraded"
                                                     : "ok";
  const unsigned status = std::string_view(overall) == "down" ? 503 : 200;
  if (!detail)
    return json_response(status, {{"status", overall}});
  json::object body{
      {"status", overall}, {"draining", draining()}, {"upstreams", std::move(upstreams)}};
  return json_response(status, body);
}

WireResponse Gateway::status_report() {
  const auto uptime = std::chrono::duration<double>(clock_.now() - start_time_).count();
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

WireResponse Gateway::admin(const WireRequest& req, std::string_view path) {
  // Authorization: Bearer <token>. With no token configured, admin is closed.
  if (!admin_token_matches(req)) {
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
  events_->warn("admin: breaker {} {}", target, action);
  return json_response(200, {{"upstream", up->name()},
                             {"target", target},
                             {"action", action},
                             {"state", to_string(breaker->state())}});
}

namespace {

// Our pages' policy: nothing but medgate's own scripts, styles and data.
constexpr std::string_view kPageCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
// Swagger UI sets styles inline; the page has no data and no script of its own inline.
constexpr std::string_view kDocsCsp =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

// A file compiled in from web/ (web/web_assets.hpp), typed by its extension.
WireResponse web_file(std::string_view name, std::string_view csp) {
  const auto ext = name.substr(name.rfind('.') + 1);
  const std::string_view type = ext == "html"  ? "text/html; charset=utf-8"
                                : ext == "js"  ? "text/javascript; charset=utf-8"
                                : ext == "css" ? "text/css; charset=utf-8"
                                               : "application/json";
  auto res = text_response(200, std::string(web::asset(name)), type);
  res.fields.set("Content-Security-Policy", csp);
  res.fields.set("X-Content-Type-Options", "nosniff");
  res.fields.set("X-Frame-Options", "DENY");
  res.fields.set("Referrer-Policy", "no-referrer");
  res.fields.set("Cache-Control", "no-cache");
  return res;
}

// The file `path` names below `dir`, when it is one of `files`.
std::optional<std::string_view> file_in(std::string_view path, std::string_view dir,
                                        std::initializer_list<std::string_view> files) {
  if (!path.starts_with(dir))
    return std::nullopt;
  for (const std::string_view f : files)
    if (path.substr(dir.size()) == f)
      return f;
  return std::nullopt;
}

}  // namespace

WireResponse Gateway::dashboard(const WireRequest& req, const RequestInfo& info,
                                std::string_view path) {
  if (!dashboard_)
    return error_response(404, "not_found", "the dashboard is off (dashboard.enabled)");
  if (req.method != http::verb::get && req.method != http::verb::head)
    return error_response(405, "method_not_allowed", "use GET");
  // The page and its files are public (no data in them); the state needs what /health
  // needs: loopback, or a staff or admin token.
  if (path == "/dashboard" || path == "/dashboard/")
    return web_file("dashboard.html", kPageCsp);
  if (auto f = file_in(path, "/dashboard/static/",
                       {"dashboard.js", "dashboard.css", "uPlot.iife.min.js", "uPlot.min.css"}))
    return web_file(*f, kPageCsp);
  if (path == "/dashboard/api/state") {
    if (auto refused = operator_refusal(req, info))
      return std::move(*refused);
    const auto health = health_report();
    const auto collected = dashboard_->snapshot();
    std::string body;
    body.reserve(health.body.size() + collected->size() + 64);
    body.append("{\"health\":").append(health.body).append(",\"collected\":").append(*collected);
    body.append("}");
    auto res = text_response(200, std::move(body), "application/json");
    res.fields.set("Cache-Control", "no-store");
    return res;
  }
  return error_response(404, "not_found", "no such dashboard file or endpoint");
}

WireResponse Gateway::docs(const WireRequest& req, std::string_view path) {
  if (req.method != http::verb::get && req.method != http::verb::head)
    return error_response(405, "method_not_allowed", "use GET");
  if (path == "/openapi.json")
    return web_file("openapi.json", kDocsCsp);
  if (path == "/docs" || path == "/docs/")
    return web_file("docs.html", kDocsCsp);
  if (auto f =
          file_in(path, "/docs/static/", {"docs.js", "swagger-ui-bundle.js", "swagger-ui.css"}))
    return web_file(*f, kDocsCsp);
  return error_response(404, "not_found", "no such documentation file");
}

}  // namespace medgate::gateway
