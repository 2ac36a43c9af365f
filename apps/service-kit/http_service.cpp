#include "apps/service-kit/http_service.hpp"

#include <algorithm>
#include <charconv>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "apps/service-kit/json_input.hpp"
#include "apps/service-kit/service_guard.hpp"
#include "apps/service-kit/service_metrics.hpp"
#include "auth/redact.hpp"
#include "auth/secrets.hpp"
#include "clients/db/db.hpp"

namespace medgate::service {

namespace asio = boost::asio;
namespace json = boost::json;

Response json_reply(const Request& req, unsigned status, const std::string& body) {
  // Patient data: no browser or shared cache keeps it (httpd::json_reply says no-store).
  // medgate, the services' own edge, may keep a read's last good answer to serve (marked
  // stale) while a service is down: told so in its targeted field (RFC 9213), which it
  // reads instead of Cache-Control.
  Response res = httpd::json_reply(req, status, body);
  if (req.method() == http::verb::get && status == 200)
    res.set(kMedgateCacheControl, "no-cache, stale-if-error=300");
  return res;
}

Response error_reply(const Request& req, unsigned status, std::string_view code,
                     std::string_view message, std::string_view field) {
  return httpd::error_reply(req, status, code, message, field);
}

HttpService::HttpService(std::string name, ListenOptions listen, ServiceLimits limits,
                         Router router, std::shared_ptr<spdlog::logger> log,
                         std::shared_ptr<const ServiceGuard> guard)
    : name_(std::move(name)),
      listen_(std::move(listen)),
      limits_(limits),
      router_(std::move(router)),
      log_(std::move(log)),
      guard_(std::move(guard)),
      metrics_(std::make_unique<ServiceMetrics>(name_, router_.labels())),
      log_key_(auth::random_token()) {}

HttpService::~HttpService() {
  stop();
}

void HttpService::start() {
  httpd::ServerOptions opts;
  opts.threads = static_cast<uint32_t>(std::max<size_t>(1, listen_.threads));
  opts.limits = {.max_header_bytes = limits_.max_header_bytes,
                 .max_body_bytes = limits_.max_body_bytes,
                 .header_timeout = limits_.header_timeout,
                 .body_timeout = limits_.body_timeout,
                 .write_timeout = limits_.write_timeout,
                 .max_connections = static_cast<uint32_t>(limits_.max_connections),
                 .drain_timeout = limits_.drain_timeout,
                 .drain_idle_grace = limits_.drain_idle_grace};
  opts.listeners.push_back({.address = listen_.address, .port = listen_.port, .tls = listen_.tls});
  opts.warn = [log = log_](const std::string& line) { log->warn("{}", line); };
  server_ = std::make_unique<httpd::Server>(std::move(opts), static_cast<httpd::Site&>(*this));
  server_->start();
}

void HttpService::stop() {
  if (!server_)
    return;
  server_->drain();
  server_->wait();
  server_.reset();
}

asio::awaitable<Response> HttpService::serve(Request& req, const httpd::BeastExchange& exchange) {
  const auto started = std::chrono::steady_clock::now();
  const std::string& request_id = exchange.request_id;
  std::optional<size_t> route;
  GuardDecision decision;
  Response res = co_await dispatch(req, request_id, exchange.connection.peer, route, decision);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  metrics_->request(route, res.result_int(), ms / 1000.0);
  if (guard_ && route) {
    const std::string_view target = req.target();
    guard_->audit(decision, request_id, req.method_string(), router_.label(*route),
                  target.substr(0, target.find('?')), res.result_int());
  }
  log_->info(
      "{{\"service\":\"{}\",\"request_id\":\"{}\",\"method\":\"{}\",\"path\":{},"
      "\"status\":{},{}\"duration_ms\":{:.3f}}}",
      name_, request_id, std::string(req.method_string()),
      json::serialize(json::value(auth::redact_ruts(req.target().substr(0, 256), log_key_))),
      res.result_int(),
      decision.token_refused.empty()
          ? std::string()
          : "\"token_refused\":" + json::serialize(json::value(decision.token_refused)) + ",",
      ms);
  co_return res;
}

std::optional<std::chrono::steady_clock::time_point> deadline_from_budget(
    std::string_view budget_ms, std::chrono::steady_clock::time_point now) {
  int64_t ms = 0;
  const auto [end, ec] = std::from_chars(budget_ms.data(), budget_ms.data() + budget_ms.size(), ms);
  if (ec != std::errc{} || end != budget_ms.data() + budget_ms.size() || ms < 1 || ms > 3'600'000)
    return std::nullopt;
  const int64_t margin = std::min<int64_t>(250, ms / 5);
  return now + std::chrono::milliseconds(ms - margin);
}

asio::awaitable<Response> HttpService::dispatch(Request& req, const std::string& request_id,
                                                const std::string& client_address,
                                                std::optional<size_t>& route,
                                                GuardDecision& decision) {
  const std::string_view target = req.target();
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query =
      q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  if (path == "/metrics" && req.method() == http::verb::get) {
    // Open like /health: counts by route pattern and status class, no patient in them.
    Response res{http::status::ok, req.version()};
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.keep_alive(req.keep_alive());
    res.body() = metrics_->render();
    res.prepare_payload();
    co_return res;
  }
  const auto m = router_.match(req.method(), path);
  if (m.handler)
    route = m.route;
  if (!m.handler) {
    if (m.path_known)
      co_return error_reply(req, 405, "method_not_allowed", "method not allowed on this path");
    co_return error_reply(req, 404, "not_found", "no such resource");
  }
  RequestContext ctx{
      {req, m.params, query, request_id, client_address}, std::nullopt, std::nullopt};
  if (guard_)
    if (auto refusal = guard_->check(req, path, ctx, decision))
      co_return std::move(*refusal);
  if (const auto it = req.find(kTimeoutHeader); it != req.end())
    ctx.deadline = deadline_from_budget(it->value(), std::chrono::steady_clock::now());
  std::optional<Response> failed;
  try {
    co_return co_await (*m.handler)(ctx);
  } catch (const InputError& e) {
    failed = error_reply(req, e.status(), e.code(), e.what(), e.field());
  } catch (const db::DbError& e) {
    log_->error("{} {}: database: {}", std::string(req.method_string()),
                auth::redact_ruts(path.substr(0, 256), log_key_),
                auth::redact_ruts(std::string_view(e.what()).substr(0, 1024), log_key_));
    switch (e.kind()) {
      case db::DbErrorKind::conflict:
        failed = error_reply(req, 409, "conflict", "the resource already exists");
        break;
      case db::DbErrorKind::invalid:
        break;  // a bug: 500 below
      case db::DbErrorKind::outcome_unknown: {
        // Not a failure: the write may have happened. Saying 503 here would invite a
        // second, unkeyed write.
        boost::json::object body{{"error", "outcome_unknown"},
                                 {"outcome", "unknown"},
                                 {"message",
                                  "the database did not confirm the commit: the write may or "
                                  "may not have happened; retry with the same Idempotency-Key "
                                  "to find out"}};
        if (const auto k = req.find("Idempotency-Key"); k != req.end())
          body["idempotency_key"] = std::string(k->value());
        failed = json_reply(req, 504, json::serialize(body));
        break;
      }
      default:
        failed = error_reply(req, 503, "database_unavailable",
                             "the database is unavailable; retry shortly");
        failed->set(http::field::retry_after, "1");
    }
  } catch (const std::exception& e) {
    log_->error("{} {} failed: {}", std::string(req.method_string()),
                auth::redact_ruts(path.substr(0, 256), log_key_),
                auth::redact_ruts(std::string_view(e.what()).substr(0, 1024), log_key_));
  }
  if (failed)
    co_return std::move(*failed);
  co_return error_reply(req, 500, "internal_error", "the service failed to handle the request");
}

}  // namespace medgate::service
