// medgate's server: the gateway (gateway/gateway.hpp) served through the HTTP core
// (http/server.hpp) on the public listener and, when configured, the operator listener.
// Per worker it keeps a ThreadContext (connection pools, token cache, random source); per
// connection a responder that answers through Gateway::handle, adds the response fields
// medgate owns (X-Request-Id, X-Medgate-Upstream, X-Medgate-Attempts, CORS), counts the
// request, and writes the access and audit logs once the answer is out.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "gateway/audit_log.hpp"
#include "gateway/gateway.hpp"
#include "http/server.hpp"

namespace medgate::gateway {

// What the access log and the error log may show of a request target or an error text:
// the application's redaction (medgate's hides patients' RUTs). Identity when empty.
using Redactor = std::function<std::string(std::string_view)>;

class Server final : private httpd::Site {
 public:
  // `audit` may be null (auth disabled).
  Server(Gateway& gateway, std::shared_ptr<spdlog::logger> access_log,
         std::shared_ptr<AuditLog> audit = nullptr, Redactor redact = {});
  ~Server() override;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Listen on an inherited listening socket instead of binding (medgate-launcher holds it
  // across restarts). Call before start(); the fd becomes the server's.
  void adopt_listener(int fd) { adopted_fd_ = fd; }
  // Binds (throws on failure) and starts the threads. Returns once listening.
  void start();
  [[nodiscard]] uint16_t port() const { return http_ ? http_->port(0) : 0; }
  // The operator listener's bound port; 0 without operator_listen.
  [[nodiscard]] uint16_t operator_port() const;
  // Stops accepting, lets in-flight requests finish (up to drain_timeout), then stops.
  // Thread-safe; idempotent.
  void drain();
  // Blocks until every thread has ended.
  void wait();

 private:
  class GatewayResponder;
  void worker_started(uint32_t worker, boost::asio::io_context& io) override;
  std::unique_ptr<httpd::Responder> open(const httpd::Connection& c) override;
  void connection_opened() override { gateway_.metrics().connection_opened(); }
  void connection_closed() override { gateway_.metrics().connection_closed(); }
  void draining() override { gateway_.set_draining(); }
  [[nodiscard]] std::string redacted(std::string_view text) const;

  Gateway& gateway_;
  std::shared_ptr<spdlog::logger> access_log_;
  std::shared_ptr<AuditLog> audit_;
  const Redactor redact_;
  std::unique_ptr<httpd::Server> http_;
  // One per worker. After http_: destroyed first, while the workers' io_contexts (whose
  // sockets the pools hold) still exist.
  std::vector<std::unique_ptr<ThreadContext>> contexts_;
  int adopted_fd_ = -1;
};

}  // namespace medgate::gateway
