// The HTTP/1.1 server every program here serves through: medgate, the hospital services,
// the database monitors' API and the test upstream.
//
// One io_context per worker thread. The acceptors run on the first worker and place each
// new connection on the worker with the fewest open connections; a connection then stays
// on its worker (no cross-thread hand-off per request). Each connection runs one request
// loop (Server::session), plain or TLS: bounded header and body, read and write
// timeouts, keep-alive, 100-continue, refusals (400/413/431) for unreadable requests. The
// application answers through a Site (http/handler.hpp).
//
// drain(): the acceptors close; requests in flight finish and are answered with
// Connection: close; idle keep-alive connections stay open for `drain_idle_grace` (a
// request arriving meanwhile is served), then close; at `drain_timeout` whatever remains
// is cut.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "http/handler.hpp"
#include "http/limits.hpp"

namespace medgate::httpd {

// A certificate chain and key, read again when the files change (http/tls_context.hpp).
struct TlsFiles {
  std::string cert_file;
  std::string key_file;
  std::chrono::milliseconds reload_check{10'000};
};

struct ListenerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port (see Server::port)
  // An inherited listening socket to accept on instead of binding (medgate-launcher holds
  // it across restarts); the server takes it over.
  int adopted_fd = -1;
  // SO_REUSEPORT: a successor process binds the same port while this one drains.
  bool reuse_port = false;
  std::optional<TlsFiles> tls;
};

struct ServerOptions {
  uint32_t threads = 2;
  Limits limits;
  std::vector<ListenerOptions> listeners;  // at least one
  // A request keeps every header field as received (but its framing), hop-by-hop ones
  // included: for a test fixture that reports what reached it. Off: end-to-end fields only.
  bool whole_header = false;
  // Warnings (a TLS pair that failed to reload); may be empty.
  std::function<void(const std::string&)> warn;
};

class Server {
 public:
  Server(ServerOptions options, Site& site);
  ~Server();  // drains and waits
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every listener (throws on failure, naming the address), calls
  // Site::worker_started for each worker, and starts the threads.
  void start();
  // The bound port of listener `i`.
  [[nodiscard]] uint16_t port(size_t listener = 0) const;
  // Thread-safe; idempotent. Returns at once; wait() for the end.
  void drain();
  [[nodiscard]] bool draining() const { return draining_.load(); }
  // Blocks until every worker has stopped.
  void wait();

 private:
  struct Worker;
  struct Listener;
  struct SessionCount;

  [[nodiscard]] Worker* least_loaded();
  [[nodiscard]] boost::asio::awaitable<void> accept_loop(Listener& listener);
  // Counts a new connection in and runs its session on `w`, or closes it over the cap.
  void start_session(Listener& l, Worker& w, boost::asio::ip::tcp::socket socket);
  // A connection's request loop, the only one: plain and TLS differ in their transport.
  template <typename Transport>
  [[nodiscard]] boost::asio::awaitable<void> session(Worker& w, Connection c,
                                                     boost::asio::ip::tcp::socket socket,
                                                     std::shared_ptr<void> tls_context);
  void drain_workers();

  ServerOptions options_;
  Site& site_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  int open_acceptors_ = 0;  // accept loops still running; first worker's thread only
  std::vector<std::thread> threads_;
  std::atomic<uint32_t> connections_{0};
  std::atomic<bool> draining_{false};
  bool started_ = false;
};

}  // namespace medgate::httpd
