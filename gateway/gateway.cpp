#include "gateway/gateway.hpp"

#include <charconv>

#include <boost/beast/http/field.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "auth/canonical_path.hpp"
#include "gateway/builtin_modules.hpp"
#include "gateway/health_report.hpp"
#include "gateway/http_util.hpp"
#include "http/secure_equals.hpp"

namespace medgate::gateway {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

ThreadContext::ThreadContext(asio::io_context& io, const GatewayConfig& cfg, uint64_t seed,
                             const resilience::Clock& clock, spdlog::logger& events)
    : transport(io, cfg), rng(seed), env{clock, transport, rng, views, events, &tokens} {}

Gateway::Gateway(GatewayConfig cfg, const resilience::Clock& clock,
                 std::shared_ptr<spdlog::logger> events,
                 std::vector<std::unique_ptr<ApiModule>> modules, GatewayHooks hooks)
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
      route_labels_{"unmatched"},
      metrics_(cfg_,
               [&] {
                 // Labels: the built-in modules', the others', then the configured routes'.
                 auto all = make_builtin_modules(*this);
                 for (auto& m : modules)
                   all.push_back(std::move(m));
                 for (auto& m : all) {
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
      start_time_(clock.now()),
      hooks_(std::move(hooks)) {
  if (cfg_.client_rate_limit.enabled)
    client_limiter_.emplace(cfg_.client_rate_limit.rate, cfg_.client_rate_limit.burst,
                            cfg_.client_rate_limit.max_clients, clock);
  for (const auto& route : cfg_.routes)
    route_upstreams_.push_back(upstreams_.find(route.upstream));
  module_context_ = std::make_unique<ModuleContext>(ModuleContext{
      .upstreams = upstreams_,
      .metrics = metrics_,
      .events = *events_,
      .config = cfg_,
      .operator_refusal = [this](const WireRequest& req,
                                 const RequestInfo& info) { return operator_refusal(req, info); },
      .health_report =
          [this](bool detail) {
            return gateway::health_report(upstreams_, clock_.now(), draining(), detail);
          }});
  for (auto& m : modules_)
    m.module->bind(*module_context_);
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

Gateway::~Gateway() {
  modules_.clear();
}

std::optional<Gateway::ModuleMatch> Gateway::module_for(std::string_view path) {
  for (auto& m : modules_)
    if (auto route = m.module->match(path))
      return ModuleMatch{&m, *route};
  return std::nullopt;
}

std::optional<Gateway::ProxyRoute> Gateway::match_proxy_route(std::string_view target,
                                                              std::string& rewritten) {
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
  const auto module = module_for(info.path);
  if (auto elsewhere = listener_refusal(module, info)) {
    out.clear();
    out.response = std::move(*elsewhere);
    info.route = kUnmatched;
    return answered();
  }
  // The operator's and the probes' endpoints are outside the access rules.
  if (module && module->bound->module->exposure() != Exposure::api)
    return handle_module(req, *module, env, info, out);
  auto refusal = guard_.check(req, info, env.tokens);
  if (auto limited = over_client_limit(info))
    refusal = std::move(limited);  // a caller over its rate learns that first
  if (refusal) {
    out.clear();
    out.response = std::move(*refusal);
    info.route = match_label(info.path);
    return answered();
  }
  if (module)
    return handle_module(req, *module, env, info, out);
  if (auto route = match_proxy_route(target, info.upstream_target)) {
    info.route = route->label;
    return call_upstream(*route->upstream, req, info.upstream_target, env, info, out);
  }
  out.clear();
  out.response = error_response(404, "not_found", "no route for this path");
  info.route = kUnmatched;
  return answered();
}

asio::awaitable<void> Gateway::handle_module(const WireRequest& req, ModuleMatch m, CallEnv& env,
                                             RequestInfo& info, Reply& out) {
  out.clear();
  info.route = m.bound->first_label + m.route;
  return m.bound->module->handle(req, info.path, m.route, env, info, out.response);
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

std::optional<WireResponse> Gateway::listener_refusal(const std::optional<ModuleMatch>& m,
                                                      const RequestInfo& info) const {
  if (!cfg_.operator_listen)
    return std::nullopt;
  const Exposure exposure = m ? m->bound->module->exposure() : Exposure::api;
  if (info.operator_listener) {
    if (exposure != Exposure::api)
      return std::nullopt;
    return error_response(404, "not_found",
                          "the operator listener serves no API: use medgate's public listener");
  }
  if (exposure != Exposure::operator_only)
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
  if (who && hooks_.operator_reader && hooks_.operator_reader(*who))
    return std::nullopt;
  auto res = error_response(who ? 403 : 401, who ? "forbidden" : "unauthorized",
                            "the detailed health and status need a staff or admin token");
  if (!who)
    res.fields.set("WWW-Authenticate", "Bearer realm=\"medgate\"");
  return res;
}

}  // namespace medgate::gateway
