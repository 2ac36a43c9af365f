// A small HTTP/1.1 JSON service host for the hospital's services: bounded inputs
// (header/body size, read/write timeouts, connection cap), a path-pattern router, JSON
// errors, X-Request-Id, and a JSON access log. Handlers are coroutines; database work goes
// through db::DbPool, which keeps blocking calls off these threads.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/logger.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

#include "auth/principal.hpp"

namespace medgate::service {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct ServiceLimits {
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 256 * 1024;
  std::chrono::milliseconds header_timeout{10'000};  // also the keep-alive idle limit
  std::chrono::milliseconds body_timeout{10'000};
  std::chrono::milliseconds write_timeout{10'000};
  size_t max_connections = 1024;
};

struct RequestContext {
  const Request& request;
  std::vector<std::pair<std::string, std::string>> params;  // {name} segments of the pattern
  std::string_view query;
  std::string request_id;
  // When the caller stops waiting, less a margin to answer in: from `X-Medgate-Timeout-Ms`
  // (what medgate allows this attempt). Database work gives up by then with a 503 instead of
  // being cut off with no answer.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // The caller, when its bearer token was verified (services behind a ServiceGuard).
  std::optional<auth::Principal> principal;
  // The connection's peer address ("127.0.0.1"), for per-client limits.
  std::string client_address;

  [[nodiscard]] const std::string& param(std::string_view name) const;
  // A query parameter, percent-decoded; nullopt when absent or malformed.
  [[nodiscard]] std::optional<std::string> query_param(std::string_view name) const;
  [[nodiscard]] std::string_view header(std::string_view name) const;
};

using Handler = std::function<boost::asio::awaitable<Response>(RequestContext&)>;

// Patterns are literal segments and {name} captures: "/patients/{rut}/payments".
class Router {
 public:
  void add(http::verb method, std::string pattern, Handler handler);

  struct Match {
    const Handler* handler = nullptr;
    size_t route = 0;  // index of the matched route (label(route)), when handler is set
    std::vector<std::pair<std::string, std::string>> params;
    bool path_known = false;  // some route has this path, maybe with another method
  };
  [[nodiscard]] Match match(http::verb method, std::string_view path) const;
  // Each route's method and pattern ("GET /patients/{rut}"), in the order added: metric labels
  // that name no patient.
  [[nodiscard]] std::vector<std::string> labels() const;
  [[nodiscard]] const std::string& label(size_t route) const { return routes_.at(route).label; }

 private:
  struct Route {
    std::string label;
    http::verb method;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

struct ListenOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;
  size_t threads = 2;
};

class ServiceGuard;
class ServiceMetrics;
struct GuardDecision;

class HttpService {
 public:
  // `guard` (may be null) decides on each request before its route does.
  HttpService(std::string name, ListenOptions listen, ServiceLimits limits, Router router,
              std::shared_ptr<spdlog::logger> log,
              std::shared_ptr<const ServiceGuard> guard = nullptr);
  ~HttpService();
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  // Binds (throws on failure) and starts serving on background threads.
  void start();
  // Graceful stop: no new connections, idle keep-alive connections closed at once, requests
  // in flight finish (their responses say Connection: close) for up to `drain`; then the
  // rest is cut. Returns when the threads are done.
  void stop(std::chrono::milliseconds drain = std::chrono::seconds(10));
  [[nodiscard]] uint16_t port() const { return bound_port_; }

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> session(boost::asio::ip::tcp::socket socket);
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
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  // The accept loop and stop()'s close of the acceptor run here, never at the same time.
  boost::asio::strand<boost::asio::io_context::executor_type> accept_strand_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> connections_{0};
  std::atomic<bool> draining_{false};
  // Connections waiting for a request, so that stop() can close them without waiting for
  // their keep-alive timeout. Each entry is touched only on its connection's strand.
  struct Idle;
  std::mutex idle_mu_;
  std::list<std::shared_ptr<Idle>> idle_;
  uint16_t bound_port_ = 0;
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
