// What an application gives the server (http/server.hpp): a Site, which opens a Responder
// for each connection. The server reads requests, hands each to the connection's
// Responder, writes the Answer and keeps the connection; the application only answers.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "clients/http_wire.hpp"
#include "clients/wire_message.hpp"

namespace medgate::httpd {

// The connection a request came on.
struct Connection {
  std::string peer;     // the client's address ("127.0.0.1"); empty when unknown
  size_t listener = 0;  // index into ServerOptions::listeners
  uint32_t worker = 0;  // the worker thread serving it (index)
  bool tls = false;
};

// How a responder answers one request.
struct Answer {
  enum class Then {
    reply,  // write `response` (the usual)
    close,  // write nothing and close the connection (a fixture that hangs up)
    reset,  // write `response`, then reset the connection (a fixture's torn answer)
  };
  // What to write; the responder owns it and keeps it until `sent` is called.
  const clients::WireResponse* response = nullptr;
  // Header fields written in place of any of the same name in `response`: per-request
  // fields cost least written in place. Views, valid until `sent`.
  std::span<const clients::FieldOverride> overrides;
  Then then = Then::reply;
  // False: the connection closes after this answer (it says Connection: close).
  bool keep_alive = true;
};

// One connection's request handler. Every call runs on the connection's worker thread,
// one request at a time.
class Responder {
 public:
  virtual ~Responder() = default;
  // Answers `req` into `answer` (reset before each request). Both outlive the awaitable.
  // An exception is answered with 500 by the server.
  [[nodiscard]] virtual boost::asio::awaitable<void> respond(const clients::WireRequest& req,
                                                             Answer& answer) = 0;
  // After the answer was written, or failed to be (`written` false): logs, audit.
  // `seconds`: request read -> answer ready.
  virtual void sent(const clients::WireRequest& req, const Answer& answer, double seconds,
                    bool written) {
    (void)req, (void)answer, (void)seconds, (void)written;
  }
};

// The application behind a server.
class Site {
 public:
  virtual ~Site() = default;
  // Once per worker, before any connection, on the thread that calls Server::start():
  // per-thread state (connection pools bound to `io`) belongs here.
  virtual void worker_started(uint32_t worker, boost::asio::io_context& io) {
    (void)worker, (void)io;
  }
  // A responder for a new connection, on its worker's thread.
  [[nodiscard]] virtual std::unique_ptr<Responder> open(const Connection& connection) = 0;
  // Connection counts, for metrics (any thread).
  virtual void connection_opened() {}
  virtual void connection_closed() {}
  // Called once drain() starts (any thread).
  virtual void draining() {}
};

}  // namespace medgate::httpd
