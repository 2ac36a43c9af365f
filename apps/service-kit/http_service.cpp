#include "apps/service-kit/http_service.hpp"

#include <charconv>
#include <random>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "apps/service-kit/json_input.hpp"
#include "apps/service-kit/service_guard.hpp"
#include "apps/service-kit/service_metrics.hpp"
#include "auth/redact.hpp"
#include "auth/secrets.hpp"
#include "clients/db/db.hpp"
#include "clients/deadline_stream.hpp"
#include "clients/http_read.hpp"
#include "clients/http_wire.hpp"
#include "clients/request_id.hpp"
#include "clients/request_reader.hpp"
#include "clients/url_query.hpp"

namespace medgate::service {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const size_t slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash);
  }
  return out;
}

}  // namespace

const std::string& RequestContext::param(std::string_view name) const {
  for (const auto& [k, v] : params)
    if (k == name)
      return v;
  throw std::out_of_range("no route parameter " + std::string(name));
}

std::optional<std::string> RequestContext::query_param(std::string_view name) const {
  const auto raw = clients::find_query_param(query, name);
  return raw ? clients::percent_decode(*raw) : std::nullopt;
}

std::string_view RequestContext::header(std::string_view name) const {
  const auto it = request.find(name);
  return it == request.end() ? std::string_view() : std::string_view(it->value());
}

void Router::add(http::verb method, std::string pattern, Handler handler) {
  std::string label = std::string(http::to_string(method)) + " " + pattern;
  routes_.push_back({std::move(label), method, split_path(pattern), std::move(handler)});
}

std::vector<std::string> Router::labels() const {
  std::vector<std::string> out;
  for (const auto& r : routes_)
    out.push_back(r.label);
  return out;
}

Router::Match Router::match(http::verb method, std::string_view path) const {
  const std::vector<std::string> parts = split_path(path);
  Match m;
  for (const auto& r : routes_) {
    if (r.segments.size() != parts.size())
      continue;
    std::vector<std::pair<std::string, std::string>> params;
    bool ok = true;
    for (size_t i = 0; i < parts.size() && ok; ++i) {
      const std::string& s = r.segments[i];
      if (s.size() > 2 && s.front() == '{' && s.back() == '}') {
        auto decoded = clients::percent_decode(parts[i], false);
        ok = decoded.has_value();
        if (ok)
          params.emplace_back(s.substr(1, s.size() - 2), std::move(*decoded));
      } else {
        ok = s == parts[i];
      }
    }
    if (!ok)
      continue;
    m.path_known = true;
    if (r.method == method || (method == http::verb::head && r.method == http::verb::get)) {
      m.handler = &r.handler;
      m.route = static_cast<size_t>(&r - routes_.data());
      m.params = std::move(params);
      return m;
    }
  }
  return m;
}

Response json_reply(const Request& req, unsigned status, const std::string& body) {
  Response res{static_cast<http::status>(status), req.version()};
  res.set(http::field::content_type, "application/json");
  // Patient data: no browser or shared cache keeps it. medgate, the services' own edge,
  // may keep a read's last good answer to serve (marked stale) while a service is down:
  // told so in its targeted field (RFC 9213), which it reads instead of Cache-Control.
  res.set(http::field::cache_control, "no-store");
  if (req.method() == http::verb::get && status == 200)
    res.set(kMedgateCacheControl, "no-cache, stale-if-error=300");
  res.keep_alive(req.keep_alive());
  res.body() = body;
  res.prepare_payload();
  return res;
}

Response error_reply(const Request& req, unsigned status, std::string_view code,
                     std::string_view message, std::string_view field) {
  json::object o{{"error", code}, {"message", message}};
  if (!field.empty())
    o["field"] = field;
  return json_reply(req, status, json::serialize(o));
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
      metrics_(std::make_unique<ServiceMetrics>(name_, router_)),
      log_key_(auth::random_token()),
      io_(static_cast<int>(std::max<size_t>(1, listen_.threads))),
      acceptor_(io_),
      accept_strand_(asio::make_strand(io_)) {}

HttpService::~HttpService() {
  stop();
}

void HttpService::start() {
  const tcp::endpoint ep(asio::ip::make_address(listen_.address), listen_.port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  bound_port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(accept_strand_, accept_loop(), asio::detached);
  for (size_t i = 0; i < std::max<size_t>(1, listen_.threads); ++i)
    threads_.emplace_back([this] { io_.run(); });
}

struct HttpService::Idle {
  clients::DeadlineStream* stream = nullptr;  // null once the session has ended
  asio::any_io_executor strand;
  bool waiting = false;  // in the header read, no request in flight
};

void HttpService::stop(std::chrono::milliseconds drain) {
  if (threads_.empty())
    return;
  draining_ = true;
  asio::post(accept_strand_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  {
    std::lock_guard lock(idle_mu_);
    for (const auto& entry : idle_) {
      asio::post(entry->strand, [entry] {
        if (entry->stream && entry->waiting) {
          boost::system::error_code ignored;
          entry->stream->socket().cancel(ignored);
        }
      });
    }
  }
  const auto until = std::chrono::steady_clock::now() + drain;
  while (connections_.load() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  io_.stop();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
}

asio::awaitable<void> HttpService::accept_loop() {
  for (;;) {
    boost::system::error_code ec;
    // Several threads run io_: each connection gets a strand, so its coroutine, its socket
    // and its deadline timer (which may close the socket) never run at the same time.
    tcp::socket socket = co_await acceptor_.async_accept(
        asio::make_strand(io_), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!acceptor_.is_open())
        co_return;
      continue;
    }
    if (connections_.load() >= limits_.max_connections) {
      socket.close(ec);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    const auto strand = socket.get_executor();
    asio::co_spawn(strand, session(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> HttpService::session(tcp::socket socket) {
  ++connections_;
  struct Count {
    std::atomic<size_t>& n;
    ~Count() { --n; }
  } count{connections_};
  clients::DeadlineStream stream(std::move(socket));
  auto idle = std::make_shared<Idle>(Idle{&stream, stream.get_executor(), false});
  std::list<std::shared_ptr<Idle>>::iterator registered;
  {
    std::lock_guard lock(idle_mu_);
    registered = idle_.insert(idle_.end(), idle);
  }
  // Listed while the session lives, however it ends.
  struct Unregister {
    HttpService& self;
    std::list<std::shared_ptr<Idle>>::iterator it;
    ~Unregister() {
      (*it)->stream = nullptr;
      std::lock_guard lock(self.idle_mu_);
      self.idle_.erase(it);
    }
  } unregister{*this, registered};
  // The session's own generator, in its coroutine frame: a thread_local here would be the
  // wrong thread's after a co_await resumed on another io thread (GCC keeps the first
  // thread's address), and request ids came out as zeros.
  std::mt19937_64 rng{(uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()};
  const clients::RequestReadLimits read_limits{limits_.max_header_bytes, limits_.max_body_bytes,
                                               limits_.header_timeout, limits_.body_timeout};
  beast::flat_buffer buffer = clients::request_buffer(read_limits);
  std::string client_address;
  {
    boost::system::error_code ec;
    const auto peer = stream.socket().remote_endpoint(ec);
    if (!ec)
      client_address = peer.address().to_string();
  }
  std::string scratch;
  for (;;) {
    if (draining_.load())
      break;
    http::request_parser<http::string_body> parser;
    beast::error_code ec = co_await clients::read_request(
        stream, buffer, parser, read_limits,
        [&parser] {
          const auto& h = parser.get();
          return h.version() == 11 && beast::iequals(h[http::field::expect], "100-continue");
        },
        idle->waiting);
    if (ec) {
      if (const auto refusal = clients::refusal_for(ec)) {
        Request dummy{http::verb::get, "/", 11};
        dummy.keep_alive(false);
        const Response err = error_reply(dummy, refusal->status, refusal->error, refusal->message);
        stream.expires_after(std::chrono::seconds(2));
        (void)co_await clients::write_message(stream, err, scratch);
      }
      co_return;
    }
    Request req = parser.release();
    const auto started = std::chrono::steady_clock::now();
    std::string request_id;
    if (auto it = req.find("X-Request-Id");
        it != req.end() && clients::acceptable_request_id(it->value()))
      request_id = std::string(it->value());
    else
      request_id = clients::make_request_id(rng);
    stream.expires_never();
    std::optional<size_t> route;
    GuardDecision decision;
    Response res = co_await dispatch(req, request_id, client_address, route, decision);
    res.set("X-Request-Id", request_id);
    // HEAD: the GET's header (Content-Length included) and never a body on the wire, or the
    // bytes would be read as the start of the next answer on a kept-alive connection.
    if (req.method() == http::verb::head)
      res.body().clear();
    if (draining_.load())
      res.keep_alive(false);
    const bool keep = res.keep_alive();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
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
    stream.expires_after(limits_.write_timeout);
    ec = co_await clients::write_message(stream, res, scratch);
    if (ec || !keep)
      break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
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
  RequestContext ctx{req, m.params, query, request_id, std::nullopt, std::nullopt, client_address};
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
