#include "http/server.hpp"

#include <list>
#include <random>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/verb.hpp>

#include "clients/http_wire.hpp"
#include "clients/wire_parser.hpp"
#include "http/refusal.hpp"
#include "http/request_reader.hpp"
#include "http/tls_context.hpp"
#include "http/transport.hpp"

namespace medgate::httpd {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

// A connection's entry in its worker's session list.
struct SessionState {
  tcp::socket* socket;
  bool idle = false;      // waiting for a request's header
  bool answered = false;  // has answered a request (kept alive since)
};

// Listed for drain while the session lives, however it ends.
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

// Idle keep-alive connections have no request in flight: drain closes them, and their
// clients retry on a new connection. A connection still waiting for its first request is
// left to send it (a client does not retry a request on a connection it has just opened):
// header_timeout and drain_timeout bound that wait.
void close_idle_sessions(const std::list<SessionState*>& sessions) {
  boost::system::error_code ignored;
  for (SessionState* s : sessions)
    if (s->idle && s->answered)
      s->socket->cancel(ignored);
}

std::string peer_address(const tcp::socket& socket) {
  boost::system::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  return ec ? std::string() : peer.address().to_string();
}

}  // namespace

struct Server::Worker {
  explicit Worker(uint32_t i) : index(i), io(1), drain_timer(io) {}
  const uint32_t index;
  asio::io_context io;
  // Keeps run() going while the worker has no connection; drain stops the io_context.
  asio::executor_work_guard<asio::io_context::executor_type> keep_running{io.get_executor()};
  asio::steady_timer drain_timer;
  // Every session of this worker, for drain; registered once per connection. Worker
  // thread only.
  std::list<SessionState*> sessions_list;
  // Open connections: counted in by the accepting thread, out by this worker's.
  std::atomic<uint32_t> sessions{0};
};

struct Server::Listener {
  Listener(asio::io_context& io, size_t i) : acceptor(io), index(i) {}
  tcp::acceptor acceptor;
  const size_t index;
  std::unique_ptr<TlsContextSource> tls;  // set when this listener speaks TLS
};

// Counts a session out however its coroutine ends.
struct Server::SessionCount {
  Server& server;
  Worker& worker;
  ~SessionCount() {
    --server.connections_;
    --worker.sessions;
    server.site_.connection_closed();
  }
};

Server::Server(ServerOptions options, Site& site) : options_(std::move(options)), site_(site) {
  if (options_.listeners.empty())
    throw std::invalid_argument("a server needs at least one listener");
  if (options_.threads == 0)
    options_.threads = 1;
}

Server::~Server() {
  drain();
  wait();
}

uint16_t Server::port(size_t listener) const {
  return listener < listeners_.size() ? listeners_[listener]->acceptor.local_endpoint().port() : 0;
}

void Server::start() {
  for (uint32_t i = 0; i < options_.threads; ++i)
    workers_.push_back(std::make_unique<Worker>(i));
  // Every acceptor on the first worker's thread. Each connection is accepted straight into
  // the io_context of the worker with the fewest open connections: with per-thread
  // SO_REUSEPORT acceptors the kernel's hash split 50 connections unevenly, and the
  // lighter thread went idle and was woken up again far more often (measured: a third
  // more context switches per request).
  for (size_t i = 0; i < options_.listeners.size(); ++i) {
    const ListenerOptions& lo = options_.listeners[i];
    auto l = std::make_unique<Listener>(workers_.front()->io, i);
    if (lo.tls)
      l->tls = std::make_unique<TlsContextSource>(lo.tls->cert_file, lo.tls->key_file,
                                                  lo.tls->reload_check, options_.warn);
    const tcp::endpoint ep(asio::ip::make_address(lo.address), lo.port);
    if (lo.adopted_fd >= 0) {
      // Already bound and listening (at the launcher's address).
      l->acceptor.assign(ep.protocol(), lo.adopted_fd);
    } else {
      try {
        l->acceptor.open(ep.protocol());
        l->acceptor.set_option(asio::socket_base::reuse_address(true));
        if (lo.reuse_port)
          l->acceptor.set_option(
              asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
        l->acceptor.bind(ep);
        l->acceptor.listen(asio::socket_base::max_listen_connections);
      } catch (const boost::system::system_error& e) {
        throw std::runtime_error("cannot listen on " + lo.address + ":" + std::to_string(lo.port) +
                                 ": " + e.code().message());
      }
    }
    listeners_.push_back(std::move(l));
  }
  for (auto& w : workers_)
    site_.worker_started(w->index, w->io);
  open_acceptors_ = static_cast<int>(listeners_.size());
  for (auto& l : listeners_)
    asio::co_spawn(workers_.front()->io, accept_loop(*l), asio::detached);
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
  started_ = true;
}

asio::awaitable<void> Server::accept_loop(Listener& l) {
  for (;;) {
    Worker* w = least_loaded();
    beast::error_code ec;
    tcp::socket socket =
        co_await l.acceptor.async_accept(w->io, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!l.acceptor.is_open()) {
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
        asio::steady_timer t(l.acceptor.get_executor(), std::chrono::milliseconds(50));
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      continue;
    }
    start_session(l, *w, std::move(socket));
  }
}

void Server::start_session(Listener& l, Worker& w, tcp::socket socket) {
  beast::error_code ec;
  if (connections_.load() >= options_.limits.max_connections) {
    socket.close(ec);  // over the cap: refuse cheaply
    return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  ++connections_;
  ++w.sessions;
  site_.connection_opened();
  Connection c{peer_address(socket), l.index, w.index, l.tls != nullptr};
  if (l.tls)
    asio::co_spawn(w.io,
                   session<TlsTransport>(w, std::move(c), std::move(socket), l.tls->current()),
                   asio::detached);
  else
    asio::co_spawn(w.io, session<PlainTransport>(w, std::move(c), std::move(socket), nullptr),
                   asio::detached);
}

Server::Worker* Server::least_loaded() {
  Worker* best = workers_.front().get();
  for (auto& w : workers_)
    if (w->sessions.load(std::memory_order_relaxed) <
        best->sessions.load(std::memory_order_relaxed))
      best = w.get();
  return best;
}

namespace {

template <typename Transport>
Transport make_transport(tcp::socket socket, const std::shared_ptr<void>& tls_context) {
  if constexpr (std::is_same_v<Transport, TlsTransport>)
    return Transport(std::move(socket), *std::static_pointer_cast<asio::ssl::context>(tls_context));
  else
    return Transport(std::move(socket));
}

}  // namespace

template <typename Transport>
asio::awaitable<void> Server::session(Worker& w, Connection c, tcp::socket socket,
                                      std::shared_ptr<void> tls_context) {
  const SessionCount counted{*this, w};
  const Limits& limits = options_.limits;
  // The TLS context stays alive with the connection (a reload makes a new one).
  Transport transport = make_transport<Transport>(std::move(socket), tls_context);
  SessionState state{&transport.socket()};
  const SessionListed listed{w.sessions_list, state};
  if (Transport::needs_handshake()) {
    transport.expires_after(limits.header_timeout);
    if (co_await transport.handshake())
      co_return;  // not TLS, or not a version or cipher we accept
  }
  std::unique_ptr<Responder> responder = site_.open(c);
  beast::flat_buffer buffer = request_buffer(limits);
  // Kept across requests so their buffers keep their capacity.
  std::string header_scratch;
  clients::WireRequest req;
  clients::WireResponse fallback;  // a refusal or the 500 for a responder that threw
  beast::error_code ec;
  for (;;) {
    // No check of draining_ here: a connection accepted before the drain gets its request
    // answered, with Connection: close.
    clients::WireRequestParser parser(
        req, options_.whole_header ? clients::WireRequestParser::FieldsKept::all
                                   : clients::WireRequestParser::FieldsKept::end_to_end);
    ec = co_await read_request(
        transport, buffer, parser, limits,
        [&req] { return req.expect_continue && req.version == 11; }, state.idle);
    if (ec) {
      if (const auto refusal = refusal_for(ec)) {
        refusal_response(*refusal, fallback);
        header_scratch.clear();
        clients::append_header(header_scratch, fallback, {11, false});
        transport.expires_after(std::chrono::seconds(2));
        size_t sent = 0;
        if (!transport.send_now(header_scratch, fallback.body, sent, ec))
          ec = co_await transport.send_rest(header_scratch, fallback.body, sent);
      }
      break;
    }
    const auto started = std::chrono::steady_clock::now();
    transport.expires_never();  // the responder bounds its own time
    Answer answer;
    try {
      co_await responder->respond(req, answer);
      if (!answer.response && answer.then != Answer::Then::close)
        throw std::logic_error("a responder gave no response");
    } catch (const std::exception&) {
      internal_error_response(fallback);
      answer = Answer{&fallback};
    }
    if (answer.then == Answer::Then::close) {
      responder->sent(req, answer, 0, false);
      break;
    }
    const bool keep = req.keep_alive && answer.keep_alive && answer.then == Answer::Then::reply &&
                      !draining_.load();
    const clients::WireResponse& res = *answer.response;
    header_scratch.clear();
    clients::append_header(header_scratch, res, {req.version, keep}, {{}, answer.overrides});
    // A response to HEAD has the header of the GET answer and no body.
    const std::string_view body = req.method == boost::beast::http::verb::head
                                      ? std::string_view()
                                      : std::string_view(res.body);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    transport.expires_after(limits.write_timeout);
    size_t sent = 0;
    if (!transport.send_now(header_scratch, body, sent, ec))
      ec = co_await transport.send_rest(header_scratch, body, sent);
    responder->sent(req, answer, seconds, !ec);
    state.answered = true;
    if (answer.then == Answer::Then::reset) {
      boost::system::error_code ignored;
      transport.socket().set_option(asio::socket_base::linger(true, 0), ignored);
      transport.socket().close(ignored);  // RST
      co_return;
    }
    if (ec || !keep)
      break;
  }
  co_await transport.finish();
}

void Server::drain() {
  if (draining_.exchange(true))
    return;
  site_.draining();
  if (!started_) {
    drain_workers();
    return;
  }
  // The acceptors belong to the first worker's thread; the last loop to end drains the
  // workers.
  asio::post(workers_.front()->io, [this] {
    for (auto& l : listeners_) {
      // Connections the kernel has completed but nobody accepted yet are reset when the
      // socket closes: a client that got through the handshake would see its request
      // dropped. They are accepted (and answered, with Connection: close) first; what
      // remains is the moment between the last accept and the close.
      beast::error_code ec;
      l->acceptor.non_blocking(true, ec);
      while (!ec) {
        Worker* w = least_loaded();
        tcp::socket socket(w->io);
        l->acceptor.accept(socket, ec);
        if (!ec)
          start_session(*l, *w, std::move(socket));
      }
      l->acceptor.close(ec);
    }
  });
}

void Server::drain_workers() {
  const auto deadline = options_.limits.drain_timeout;
  const auto grace = options_.limits.drain_idle_grace;
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

}  // namespace medgate::httpd
