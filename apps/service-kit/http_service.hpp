// The hospital services' HTTP host on the core (http/server.hpp, http/beast_site.hpp):
// routes by path pattern, a guard, JSON errors, X-Request-Id, per-route metrics and a JSON
// request log with patients' RUTs pseudonymised. Handlers are coroutines; database work
// goes through db::DbPool, which keeps blocking calls off these threads.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>

#include "auth/principal.hpp"
#include "http/beast_site.hpp"
#include "http/router.hpp"
#include "http/server.hpp"

namespace medgate::service {

namespace http = boost::beast::http;
using Request = httpd::Request;
using Response = httpd::Response;

struct ServiceLimits {
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 256 * 1024;
  std::chrono::milliseconds header_timeout{10'000};  // also the keep-alive idle limit
  std::chrono::milliseconds body_timeout{10'000};
  std::chrono::milliseconds write_timeout{10'000};
  size_t max_connections = 1024;
  // Stopping: how long requests in flight may take, and how long an idle keep-alive
  // connection stays open for a request already on its way (http/server.hpp).
  std::chrono::milliseconds drain_timeout{10'000};
  std::chrono::milliseconds drain_idle_grace{0};
};

struct RequestContext : httpd::RequestContext {
  // When the caller stops waiting, less a margin to answer in: from `X-Medgate-Timeout-Ms`
  // (what medgate allows this attempt). Database work gives up by then with a 503 instead of
  // being cut off with no answer.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // The caller, when its bearer token was verified (services behind a ServiceGuard).
  std::optional<auth::Principal> principal;
};

using Router = httpd::Router<RequestContext>;
using Handler = Router::Handler;

struct ListenOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;
  size_t threads = 2;
  // TLS on the service's listener (http/tls_context.hpp), when set.
  std::optional<httpd::TlsFiles> tls;
};

class ServiceGuard;
class ServiceMetrics;
struct GuardDecision;

// A service served through the HTTP core: its routes, an optional guard that decides on
// each request before its route does, /metrics, JSON errors and a JSON request log.
class HttpService final : private httpd::BeastSite {
 public:
  HttpService(std::string name, ListenOptions listen, ServiceLimits limits, Router router,
              std::shared_ptr<spdlog::logger> log,
              std::shared_ptr<const ServiceGuard> guard = nullptr);
  ~HttpService() override;
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  // Binds (throws on failure) and starts serving on background threads.
  void start();
  // Graceful stop: no new connections, idle keep-alive connections closed once
  // limits.drain_idle_grace has passed, requests in flight finish (their responses say
  // Connection: close) for up to limits.drain_timeout; then the rest is cut. Returns when
  // the threads are done.
  void stop();
  [[nodiscard]] uint16_t port() const { return server_ ? server_->port() : 0; }

 private:
  boost::asio::awaitable<Response> serve(Request& req,
                                         const httpd::BeastExchange& exchange) override;
  // `route` gets the matched route's index, or nullopt; `decision` what the guard decided.
  boost::asio::awaitable<Response> dispatch(Request& req, const std::string& request_id,
                                            const std::string& client_address,
                                            std::optional<size_t>& route, GuardDecision& decision);

  std::string name_;
  ListenOptions listen_;
  ServiceLimits limits_;
  Router router_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<const ServiceGuard> guard_;
  std::unique_ptr<ServiceMetrics> metrics_;
  const std::string log_key_;  // RUTs in the request log become pseudonyms under this key
  std::unique_ptr<httpd::Server> server_;
};

// The request header carrying the caller's time budget for one attempt, in milliseconds.
inline constexpr std::string_view kTimeoutHeader = "X-Medgate-Timeout-Ms";
// The deadline a service keeps for a budget of `budget_ms` received at `now`: a margin of a
// fifth of the budget (at most 250 ms) is left to send the answer back. nullopt when the
// header is absent or not a number in 1..3600000.
[[nodiscard]] std::optional<std::chrono::steady_clock::time_point> deadline_from_budget(
    std::string_view budget_ms, std::chrono::steady_clock::time_point now);

// Directives for medgate's last-good store only (it ignores Cache-Control when present).
inline constexpr std::string_view kMedgateCacheControl = "Medgate-Cache-Control";

// JSON replies, with keep-alive following the request. Cache-Control: no-store; a GET's 200
// allows medgate a stale copy for up to 5 minutes while the service is unavailable.
[[nodiscard]] Response json_reply(const Request& req, unsigned status, const std::string& body);
// {"error": code, "message": message[, "field": field]}.
[[nodiscard]] Response error_reply(const Request& req, unsigned status, std::string_view code,
                                   std::string_view message, std::string_view field = {});

}  // namespace medgate::service
