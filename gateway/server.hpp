// The HTTP/1.1 server: one io_context per thread, one acceptor that places each new
// connection on the thread with the fewest open connections (a connection then stays on
// its thread: no cross-thread hand-off per request), keep-alive sessions with bounded
// header/body size and read/write timeouts, a connection cap, and a graceful drain.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <spdlog/logger.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "gateway/audit_log.hpp"
#include "gateway/gateway.hpp"
#include "gateway/tls_context.hpp"

namespace medgate::gateway {

class Server {
 public:
  // `audit` may be null (auth disabled). RUTs in the access log are replaced by pseudonyms
  // keyed with `pseudonym_key`.
  Server(Gateway& gateway, std::shared_ptr<spdlog::logger> access_log,
         std::shared_ptr<AuditLog> audit = nullptr, std::string pseudonym_key = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Listen on an inherited listening socket instead of binding (a launcher holds it across
  // restarts: medgate-launcher). Call before start(); the fd becomes the server's.
  void adopt_listener(int fd) { adopted_fd_ = fd; }
  // Binds (throws on failure) and starts the threads. Returns once listening.
  void start();
  // The bound port (useful with port 0).
  [[nodiscard]] uint16_t port() const { return port_; }
  // The operator listener's bound port; 0 without operator_listen.
  [[nodiscard]] uint16_t operator_port() const { return operator_port_; }
  // Stops accepting, lets in-flight requests finish (up to drain_timeout), then stops.
  // Thread-safe; idempotent.
  void drain();
  // Blocks until every thread has ended.
  void wait();

 private:
  struct Worker;
  struct Listener;
  // Counts a session out however its coroutine ends.
  struct SessionCount {
    Server* server;
    Worker* worker;
    ~SessionCount();
  };
  [[nodiscard]] Worker* least_loaded();
  [[nodiscard]] boost::asio::awaitable<void> session(Worker* w, boost::asio::ip::tcp::socket s,
                                                     LimitsConfig limits, bool operator_listener);
  // Accepts on `acceptor` until drain() closes it; the last loop to end drains the workers.
  [[nodiscard]] boost::asio::awaitable<void> accept_loop(boost::asio::ip::tcp::acceptor& acceptor,
                                                         LimitsConfig limits,
                                                         bool operator_listener);
  [[nodiscard]] boost::asio::awaitable<void> tls_session(
      Worker* w, boost::asio::ip::tcp::socket s, LimitsConfig limits,
      std::shared_ptr<boost::asio::ssl::context> ctx);
  // What both sessions do with a request once it is read: answer it, make the response's
  // header (into `header_scratch`), log it.
  [[nodiscard]] boost::asio::awaitable<void> answer(Worker& w, const clients::WireRequest& req,
                                                    RequestInfo& info, Reply& reply);
  struct Prepared {
    std::string_view body;  // what follows the header (none for HEAD)
    double seconds;         // request read -> response ready
  };
  [[nodiscard]] Prepared prepare(const clients::WireRequest& req, const RequestInfo& info,
                                 Reply& reply, std::chrono::steady_clock::time_point started,
                                 bool keep, std::string& header_scratch);
  void log_request(const clients::WireRequest& req, const RequestInfo& info, unsigned status,
                   double seconds);
  void run_health_checks(Worker& w);
  // Once nothing accepts any more: each worker stops when its sessions have ended (idle
  // keep-alive ones closed after drain_idle_grace), or at drain_timeout.
  void drain_workers();

  Gateway& gateway_;
  std::shared_ptr<spdlog::logger> access_log_;
  std::shared_ptr<AuditLog> audit_;
  const std::string pseudonym_key_;
  std::unique_ptr<TlsContextSource> tls_;  // set when the listener speaks TLS
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Listener> listener_;
  std::unique_ptr<Listener> operator_listener_;  // operator_listen, when configured
  int open_acceptors_ = 0;  // accept loops still running; first worker's thread only
  std::vector<std::thread> threads_;
  std::atomic<uint32_t> connections_{0};
  std::atomic<bool> draining_{false};
  uint16_t port_ = 0;
  uint16_t operator_port_ = 0;
  int adopted_fd_ = -1;
};

}  // namespace medgate::gateway
