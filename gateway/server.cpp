#include "gateway/server.hpp"

#include "auth/redact.hpp"
#include "auth/secrets.hpp"

#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <charconv>
#include <list>
#include <span>

#include "clients/deadline_stream.hpp"
#include "clients/http_read.hpp"
#include "clients/http_wire.hpp"
#include "clients/request_id.hpp"
#include "clients/request_reader.hpp"
#include "clients/wire_parser.hpp"
#include "gateway/http_util.hpp"

namespace medgate::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// A connection's entry in its worker's session list.
struct SessionState {
  tcp::socket* socket;
  bool idle = false;  // waiting for the next request's header
};

struct Server::Worker {
  Worker(Gateway& g, uint64_t seed)
      : io(1), ctx(io, g.config(), seed, g.clock(), g.events()), drain_timer(io) {}
  asio::io_context io;
  // Keeps run() going while the worker has no connection yet; drain stops the io_context.
  asio::executor_work_guard<asio::io_context::executor_type> keep_running{io.get_executor()};
  ThreadContext ctx;
  asio::steady_timer drain_timer;
  // Every session of this worker; on drain, those waiting for a request (idle keep-alive)
  // are closed at once. Registered once per connection, not per request. Worker thread only.
  std::list<SessionState*> sessions_list;
  // Open connections: counted in by the accepting thread, out by this worker's.
  std::atomic<uint32_t> sessions{0};
};

struct Server::Listener {
  explicit Listener(asio::io_context& io) : acceptor(io) {}
  tcp::acceptor acceptor;
};

namespace {

// A session's entry in its worker's list, for drain, while the session lives however it ends.
class SessionListed {
 public:
  SessionListed(std::list<SessionState*>& list, SessionState& state)
      : list_(list), it_(list.insert(list.end(), &state)) {}
  SessionListed(const SessionListed&) = delete;
  SessionListed& operator=(const SessionListed&) = delete;
  ~SessionListed() { list_.erase(it_); }

 private:
  std::list<SessionState*>& list_;
  std::list<SessionState*>::iterator it_;
};

// Idle keep-alive connections have no request in flight: drain closes them at once.
void close_idle_sessions(const std::list<SessionState*>& sessions) {
  boost::system::error_code ignored;
  for (SessionState* s : sessions)
    if (s->idle)
      s->socket->cancel(ignored);
}

// The client's address, for per-caller limits and logs; empty when the socket has none.
std::string peer_address(const tcp::socket& socket) {
  boost::system::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  return ec ? std::string() : peer.address().to_string();
}

void write_access_log(spdlog::logger& log, const RequestInfo& info, std::string_view method,
                      std::string_view target, unsigned status, double seconds,
                      const std::string& route) {
  std::string line;
  line.reserve(256);
  line += "{\"request_id\":";
  append_json_string(line, info.request_id);
  line += ",\"method\":";
  append_json_string(line, method);
  line += ",\"path\":";
  append_json_string(line, target.substr(0, 512));
  line += ",\"route\":";
  append_json_string(line, route);
  line += ",\"status\":" + std::to_string(status);
  line += ",\"upstream\":";
  append_json_string(line, info.upstream);
  line += ",\"endpoint\":";
  append_json_string(line, info.endpoint);
  line += ",\"attempts\":" + std::to_string(info.attempts);
  if (info.stale)
    line += ",\"stale\":true";
  if (!info.token_refusal.empty()) {
    line += ",\"token_refused\":";
    append_json_string(line, info.token_refusal);
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, ",\"duration_ms\":%.3f}", seconds * 1e3);
  line += buf;
  log.info(line);
}

}  // namespace

Server::Server(Gateway& gateway, std::shared_ptr<spdlog::logger> access_log,
               std::shared_ptr<AuditLog> audit, std::string pseudonym_key)
    : gateway_(gateway),
      access_log_(std::move(access_log)),
      audit_(std::move(audit)),
      pseudonym_key_(pseudonym_key.empty() ? auth::random_token() : std::move(pseudonym_key)) {}

Server::~Server() {
  drain();
  wait();
}

void Server::start() {
  const GatewayConfig& cfg = gateway_.config();
  if (cfg.listen.tls.enabled())
    tls_ = std::make_unique<TlsContextSource>(
        cfg.listen.tls.cert_file, cfg.listen.tls.key_file, cfg.listen.tls.reload_check,
        [this](const std::string& line) { gateway_.events().warn("{}", line); });
  std::random_device rd;
  for (uint32_t i = 0; i < cfg.threads; ++i)
    workers_.push_back(std::make_unique<Worker>(gateway_, (uint64_t{rd()} << 32) ^ rd() ^ i));

  // One acceptor, on the first worker's thread. Each connection is accepted straight into
  // the io_context of the worker with the fewest open connections: with per-thread
  // SO_REUSEPORT acceptors the kernel's hash split 50 connections unevenly, and the
  // lighter thread went idle and was woken up again far more often (measured: a third
  // more context switches per request).
  const auto address = asio::ip::make_address(cfg.listen.address);
  listener_ = std::make_unique<Listener>(workers_.front()->io);
  tcp::acceptor& acceptor = listener_->acceptor;
  const tcp::endpoint ep(address, cfg.listen.port);
  if (adopted_fd_ >= 0) {
    // Already bound and listening (its address is the launcher's, not listen.address).
    acceptor.assign(ep.protocol(), adopted_fd_);
  } else {
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(asio::socket_base::max_listen_connections);
  }
  port_ = acceptor.local_endpoint().port();

  // The operator listener (operator_listen), plain HTTP, on the same workers. SO_REUSEPORT:
  // a successor medgate (medgate-launcher's hand-over) binds it while this one drains.
  if (cfg.operator_listen) {
    operator_listener_ = std::make_unique<Listener>(workers_.front()->io);
    tcp::acceptor& op = operator_listener_->acceptor;
    const tcp::endpoint op_ep(asio::ip::make_address(cfg.operator_listen->address),
                              cfg.operator_listen->port);
    op.open(op_ep.protocol());
    op.set_option(asio::socket_base::reuse_address(true));
    op.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
    op.bind(op_ep);
    op.listen(asio::socket_base::max_listen_connections);
    operator_port_ = op.local_endpoint().port();
  }

  open_acceptors_ = operator_listener_ ? 2 : 1;
  asio::co_spawn(workers_.front()->io, accept_loop(acceptor, cfg.limits, false), asio::detached);
  if (operator_listener_)
    asio::co_spawn(workers_.front()->io,
                   accept_loop(operator_listener_->acceptor, cfg.limits, true), asio::detached);
  run_health_checks(*workers_.front());
  for (auto& wp : workers_) {
    threads_.emplace_back([w = wp.get()] {
      for (;;) {
        try {
          w->io.run();
          return;
        } catch (const std::exception&) {
          // A handler must never take the thread down: keep serving.
        }
      }
    });
  }
  gateway_.set_started();
}

asio::awaitable<void> Server::accept_loop(tcp::acceptor& acceptor, LimitsConfig limits,
                                          bool operator_listener) {
  for (;;) {
    Worker* w = least_loaded();
    beast::error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(w->io, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!acceptor.is_open()) {
        // drain() closed it. Every connection accepted so far is counted in its worker and
        // its session is queued there, so once every acceptor has stopped the workers may
        // drain: started earlier, a worker with no session yet could stop before a
        // connection it was just handed ever ran (a client saw it closed unanswered).
        if (--open_acceptors_ == 0)
          drain_workers();
        co_return;
      }
      if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space) {
        // Out of file descriptors: back off instead of spinning.
        asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(50));
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      continue;
    }
    if (connections_.load() >= limits.max_connections) {
      socket.close(ec);  // over the cap: refuse cheaply
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    ++connections_;
    ++w->sessions;
    gateway_.metrics().connection_opened();
    if (tls_ && !operator_listener)
      asio::co_spawn(w->io, tls_session(w, std::move(socket), limits, tls_->current()),
                     asio::detached);
    else
      asio::co_spawn(w->io, session(w, std::move(socket), limits, operator_listener),
                     asio::detached);
  }
}

Server::Worker* Server::least_loaded() {
  Worker* best = workers_.front().get();
  for (auto& w : workers_)
    if (w->sessions.load(std::memory_order_relaxed) <
        best->sessions.load(std::memory_order_relaxed))
      best = w.get();
  return best;
}

Server::SessionCount::~SessionCount() {
  --server->connections_;
  --worker->sessions;
  server->gateway_.metrics().connection_closed();
}

asio::awaitable<void> Server::session(Worker* w, tcp::socket s, LimitsConfig limits,
                                      bool operator_listener) {
  const SessionCount counted{this, w};
  clients::DeadlineStream stream(std::move(s));
  SessionState state{&stream.socket()};
  // Listed for drain while the session lives, however it ends.
  const SessionListed listed{w->sessions_list, state};
  const clients::RequestReadLimits read_limits{limits.max_header_bytes, limits.max_body_bytes,
                                               limits.header_timeout, limits.body_timeout};
  beast::flat_buffer buffer = clients::request_buffer(read_limits);
  std::string header_scratch;
  // Reused by every request of the connection: parsing into them again keeps their
  // buffers' capacity.
  clients::WireRequest req;
  Reply reply;
  RequestInfo info;
  info.client = peer_address(stream.socket());
  info.operator_listener = operator_listener;
  for (;;) {
    clients::WireRequestParser parser(req);
    beast::error_code ec = co_await clients::read_request(
        stream, buffer, parser, read_limits,
        [&req] { return req.expect_continue && req.version == 11; }, state.idle);
    if (ec) {
      // Answer what deserves an answer; silently close the rest.
      if (const auto refusal = clients::refusal_for(ec)) {
        const WireResponse err = error_response(refusal->status, refusal->error, refusal->message);
        stream.expires_after(std::chrono::seconds(2));
        header_scratch.clear();
        clients::append_header(header_scratch, err, {11, false});
        size_t sent = 0;
        if (!clients::send_now(stream, header_scratch, err.body, sent, ec))
          ec = co_await clients::send_rest(stream, header_scratch, err.body, sent);
      }
      break;
    }
    const auto started = std::chrono::steady_clock::now();
    stream.expires_never();  // the handler bounds upstream time itself
    co_await answer(*w, req, info, reply);
    const bool keep = req.keep_alive && !draining_.load();
    const Prepared out = prepare(req, info, reply, started, keep, header_scratch);
    stream.expires_after(limits.write_timeout);
    size_t sent = 0;
    if (!clients::send_now(stream, header_scratch, out.body, sent, ec))
      ec = co_await clients::send_rest(stream, header_scratch, out.body, sent);
    log_request(req, info, reply.response.status, out.seconds);
    if (ec || !keep)
      break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> Server::answer(Worker& w, const clients::WireRequest& req, RequestInfo& info,
                                     Reply& reply) {
  info.clear();
  // Kept or made here; call_upstream sends it upstream as it writes the request.
  if (auto id = req.fields.find("X-Request-Id"); id && clients::acceptable_request_id(*id))
    info.request_id.assign(*id);
  else
    clients::make_request_id(w.ctx.rng, info.request_id);
  try {
    co_await gateway_.handle(req, w.ctx.env, info, reply);
  } catch (const std::exception& e) {
    gateway_.events().error(
        "request {} failed: {}", info.request_id,
        auth::redact_ruts(std::string_view(e.what()).substr(0, 1024), pseudonym_key_));
    reply.clear();
    reply.response =
        error_response(500, "internal_error", "the gateway failed to handle this request");
  }
}

Server::Prepared Server::prepare(const clients::WireRequest& req, const RequestInfo& info,
                                 Reply& reply, std::chrono::steady_clock::time_point started,
                                 bool keep, std::string& header_scratch) {
  gateway_.cors().decorate(req, reply.response);
  const WireResponse& res = reply.response;
  // Added as the response is written (they replace any the upstream sent).
  char attempts[12];
  const auto attempts_end = std::to_chars(attempts, attempts + sizeof attempts, info.attempts).ptr;
  const std::array<clients::FieldOverride, 3> extra{{
      {"X-Request-Id", info.request_id},
      {"X-Medgate-Upstream", info.upstream},
      {"X-Medgate-Attempts",
       std::string_view(attempts, static_cast<size_t>(attempts_end - attempts))},
  }};
  const clients::WireEdits edits{{}, std::span(extra).first(info.upstream.empty() ? 1 : 3)};
  // Counted before the write, so /metrics never lags what a client has already received;
  // the duration is request read -> response ready.
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  gateway_.metrics().request(info.route, res.status, secs);
  header_scratch.clear();
  clients::append_header(header_scratch, res, {req.version, keep}, edits);
  // A response to HEAD has the header of the GET answer and no body.
  const std::string_view body =
      req.method == http::verb::head ? std::string_view() : std::string_view(res.body);
  return {body, secs};
}

void Server::log_request(const clients::WireRequest& req, const RequestInfo& info, unsigned status,
                         double seconds) {
  if (audit_ && info.audit)
    audit_->record(audit_entry(info, req.method_text, gateway_.route_labels()[info.route], status));
  if (access_log_)
    write_access_log(*access_log_, info, req.method_text,
                     auth::redact_ruts(req.target.substr(0, 512), pseudonym_key_), status, seconds,
                     gateway_.route_labels()[info.route]);
}

// The same request loop over TLS: Beast's SSL stream on a tcp_stream (its timeouts), the
// same reader limits, the same answer and logs. Kept apart from the plain session so the
// plain path's socket-level shortcuts stay as they are.
asio::awaitable<void> Server::tls_session(Worker* w, tcp::socket s, LimitsConfig limits,
                                          std::shared_ptr<asio::ssl::context> ctx) {
  const SessionCount counted{this, w};
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(s)), *ctx);
  beast::error_code ec;
  stream.next_layer().expires_after(limits.header_timeout);
  co_await stream.async_handshake(asio::ssl::stream_base::server,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (ec)
    co_return;  // not TLS, or not a version or cipher we accept
  beast::flat_buffer buffer = clients::request_buffer(
      {limits.max_header_bytes, limits.max_body_bytes, limits.header_timeout, limits.body_timeout});
  std::string header_scratch;
  clients::WireRequest req;
  Reply reply;
  RequestInfo info;
  info.client = peer_address(beast::get_lowest_layer(stream).socket());
  // Listed for drain like a plain session: closed while idle once the grace has passed.
  SessionState state{&beast::get_lowest_layer(stream).socket()};
  const SessionListed listed{w->sessions_list, state};
  for (;;) {
    // No check of draining_ here: a connection accepted before the drain gets its request
    // answered (with Connection: close), as on the plain path.
    clients::WireRequestParser parser(req);
    parser.header_limit(static_cast<uint32_t>(limits.max_header_bytes));
    parser.body_limit(limits.max_body_bytes);
    stream.next_layer().expires_after(limits.header_timeout);
    state.idle = true;
    co_await http::async_read_header(stream, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
    state.idle = false;
    if (!ec && !parser.is_done()) {
      stream.next_layer().expires_after(limits.body_timeout);
      if (req.expect_continue && req.version == 11) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        co_await asio::async_write(stream, asio::buffer(kContinue),
                                   asio::redirect_error(asio::use_awaitable, ec));
      }
      if (!ec)
        co_await http::async_read(stream, buffer, parser,
                                  asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) {
      if (const auto refusal = clients::refusal_for(ec)) {
        const WireResponse err = error_response(refusal->status, refusal->error, refusal->message);
        header_scratch.clear();
        clients::append_header(header_scratch, err, {11, false});
        header_scratch.append(err.body);
        stream.next_layer().expires_after(std::chrono::seconds(2));
        co_await asio::async_write(stream, asio::buffer(header_scratch),
                                   asio::redirect_error(asio::use_awaitable, ec));
      }
      break;
    }
    const auto started = std::chrono::steady_clock::now();
    stream.next_layer().expires_never();
    co_await answer(*w, req, info, reply);
    const bool keep = req.keep_alive && !draining_.load();
    const Prepared out = prepare(req, info, reply, started, keep, header_scratch);
    stream.next_layer().expires_after(limits.write_timeout);
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(header_scratch),
                                                    asio::buffer(out.body)};
    co_await asio::async_write(stream, buffers, asio::redirect_error(asio::use_awaitable, ec));
    log_request(req, info, reply.response.status, out.seconds);
    if (ec || !keep)
      break;
  }
  stream.next_layer().expires_after(std::chrono::seconds(2));
  co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
}

void Server::run_health_checks(Worker& w) {
  for (size_t ui = 0; ui < gateway_.upstreams().all().size(); ++ui) {
    Upstream& up = *gateway_.upstreams().all()[ui];
    const HealthCheckConfig hc = up.config().health_check;
    if (!hc.enabled)
      continue;
    for (size_t ei = 0; ei < up.size(); ++ei) {
      asio::co_spawn(
          w.io,
          [this, &w, &up, ei, hc]() -> asio::awaitable<void> {
            EndpointState& ep = up.endpoint(ei);
            clients::PoolOptions opts;
            // A dead address fails its check in the upstream's connect timeout, not the whole
            // check timeout (a stopped container answers nothing; it does not refuse).
            opts.connect_timeout = std::min(hc.timeout, up.config().connect_timeout);
            opts.max_idle = 1;
            opts.max_response_body = 64 * 1024;
            clients::ConnectionPool pool(w.io.get_executor(), ep.endpoint, opts);
            asio::steady_timer timer(w.io);
            uint32_t ok_streak = 0, fail_streak = 0;
            uint32_t passes_in_trouble = 0;  // passing checks while out of traffic
            clients::WireRequest req;
            req.target = ep.endpoint.base_path + hc.path;
            req.fields.add(http::field::host, "Host", ep.endpoint.host_header);
            req.fields.add(http::field::user_agent, "User-Agent", "medgate-health-check");
            // The endpoint may answer "not answering" in time rather than not at all.
            req.fields.add("X-Medgate-Timeout-Ms", std::to_string(hc.timeout.count()));
            clients::WireResponse response;
            while (!draining_.load()) {
              auto r = co_await pool.send(req, response, hc.timeout, true);
              const bool ok =
                  r.error == clients::SendError::none && response.status == hc.expect_status;
              if (ok) {
                fail_streak = 0;
                if (++ok_streak >= hc.healthy_threshold && !ep.health_ok.load()) {
                  ep.health_ok.store(true);
                  gateway_.events().info("health check: upstream={} endpoint={} passing again",
                                         up.name(), ep.endpoint.url);
                  // The endpoint failed its checks and passes them again: the outage is over
                  // as far as we can tell, so probe now instead of waiting out open_for.
                  const std::string why = "health checks pass again on " + ep.endpoint.url;
                  ep.breaker.probe_now(why);
                  up.breaker.probe_now(why);
                }
                // Ejected or behind an open breaker by passive signals while its checks pass:
                // healthy_threshold passes in a row end that too (a failing probe opens the
                // breaker again, so a service that answers /health but fails requests costs
                // a few probes per cycle, never an outage of open_for or base_ejection).
                const bool out = ep.outlier.ejected() ||
                                 ep.breaker.state() == resilience::BreakerState::open ||
                                 up.breaker.state() == resilience::BreakerState::open;
                if (!out) {
                  passes_in_trouble = 0;
                } else if (++passes_in_trouble >= hc.healthy_threshold) {
                  passes_in_trouble = 0;
                  const std::string why = std::to_string(hc.healthy_threshold) +
                                          " health checks passed on " + ep.endpoint.url;
                  if (ep.outlier.reinstate())
                    gateway_.events().info("endpoint reinstated: upstream={} endpoint={} ({})",
                                           up.name(), ep.endpoint.url, why);
                  ep.breaker.probe_now(why);
                  up.breaker.probe_now(why);
                }
              } else {
                ok_streak = 0;
                passes_in_trouble = 0;
                if (++fail_streak >= hc.unhealthy_threshold && ep.health_ok.load()) {
                  ep.health_ok.store(false);
                  gateway_.events().warn(
                      "health check: upstream={} endpoint={} failing ({} in a row, last: {})",
                      up.name(), ep.endpoint.url, fail_streak,
                      r.error == clients::SendError::none
                          ? "status " + std::to_string(response.status)
                          : std::string(r.error == clients::SendError::connect_failed
                                            ? "connect failed"
                                        : r.error == clients::SendError::timeout ? "timeout"
                                                                                 : "reset"));
                }
              }
              timer.expires_after(hc.interval);
              beast::error_code ec;
              co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
          },
          asio::detached);
    }
  }
}

void Server::drain() {
  if (draining_.exchange(true))
    return;
  gateway_.set_draining();
  if (!listener_) {  // never started
    drain_workers();
    return;
  }
  // The acceptor belongs to the first worker's thread; its loop ends on the close and then
  // drains the workers.
  asio::post(workers_.front()->io, [this] {
    beast::error_code ec;
    listener_->acceptor.close(ec);
    if (operator_listener_)
      operator_listener_->acceptor.close(ec);
  });
}

void Server::drain_workers() {
  const auto deadline = gateway_.config().limits.drain_timeout;
  const auto grace = gateway_.config().limits.drain_idle_grace;
  for (auto& wp : workers_) {
    Worker* w = wp.get();
    asio::post(w->io, [w, deadline, grace] {
      // Idle keep-alive connections have no request in flight. Closed at once, a client that
      // is sending its next request at that moment sees a reset; within the grace such a
      // request is answered with Connection: close (a successor already takes new ones).
      const auto now = std::chrono::steady_clock::now();
      const auto close_idle_from = now + grace;
      if (grace.count() == 0)
        close_idle_sessions(w->sessions_list);
      // Stop once the sessions are gone, or at the deadline whatever remains.
      const auto until = now + deadline;
      asio::co_spawn(
          w->io,
          [w, until, close_idle_from]() -> asio::awaitable<void> {
            while (w->sessions > 0 && std::chrono::steady_clock::now() < until) {
              w->drain_timer.expires_after(std::chrono::milliseconds(20));
              beast::error_code e;
              co_await w->drain_timer.async_wait(asio::redirect_error(asio::use_awaitable, e));
              if (std::chrono::steady_clock::now() >= close_idle_from)
                close_idle_sessions(w->sessions_list);
            }
            w->io.stop();
          },
          asio::detached);
    });
  }
}

void Server::wait() {
  for (auto& t : threads_)
    if (t.joinable())
      t.join();
  threads_.clear();
}

}  // namespace medgate::gateway
