// Keep-alive HTTP/1.1 connections to one upstream endpoint. By default for one io_context
// thread and not thread-safe: every gateway thread owns its pools, so the hot path takes no
// lock. With PoolOptions::shared, a mutex guards the idle list and coroutines on several
// threads may share the pool (the portal's calls to medgate). `send` is a coroutine; it
// never blocks the thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "clients/http_url.hpp"
#include "clients/http_wire.hpp"
#include "clients/wire_message.hpp"

namespace medgate::clients {

namespace http = boost::beast::http;
// Beast's messages, for code that builds or reads them field by field (services, the
// gateway's own endpoints); the proxy path uses the wire-form ones.
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct PoolOptions {
  std::chrono::milliseconds connect_timeout{500};
  std::chrono::milliseconds idle_timeout{30'000};  // below the upstream's keep-alive timeout
  uint32_t max_idle = 64;
  uint64_t max_response_body = 8 * 1024 * 1024;
  // Shared by coroutines on several threads (one io_context run by many): a mutex guards
  // the idle list. Off for medgate's pools, which each belong to one thread.
  bool shared = false;
};

enum class SendError : uint8_t {
  none,
  connect_failed,  // nothing was sent
  reset,           // the connection failed after (part of) the request may have been sent
  timeout,         // no complete response in time
  bad_response,    // not HTTP, or over the size limit
};

struct SendResult {
  SendError error = SendError::none;
  bool reused_connection = false;
};

class ConnectionPool {
 public:
  ConnectionPool(boost::asio::any_io_executor executor, HttpEndpoint endpoint, PoolOptions options);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Sends `request` and reads the response into `response` within `timeout` (connect
  // included); interim 1xx responses are skipped. When a reused keep-alive connection turns
  // out to be closed before any response byte arrives, the request is re-sent once on a
  // fresh connection if `resend_on_stale` (idempotent requests). `edits` (target, fields)
  // are applied as the request is written. Everything passed must outlive the call;
  // `response` is complete only when the result has no error.
  [[nodiscard]] boost::asio::awaitable<SendResult> send(const WireRequest& request,
                                                        WireResponse& response,
                                                        std::chrono::nanoseconds timeout,
                                                        bool resend_on_stale, WireEdits edits = {});

  [[nodiscard]] const HttpEndpoint& endpoint() const { return endpoint_; }
  [[nodiscard]] size_t idle_connections() const;
  void close_idle();

 private:
  struct Connection;
  [[nodiscard]] std::unique_ptr<Connection> take_idle();
  void give_back(std::unique_ptr<Connection>& conn);
  [[nodiscard]] std::unique_lock<std::mutex> lock_if_shared() const;

  boost::asio::any_io_executor executor_;
  const HttpEndpoint endpoint_;
  const PoolOptions options_;
  std::vector<std::unique_ptr<Connection>> idle_;
  mutable std::mutex mu_;  // taken only when options_.shared
};

}  // namespace medgate::clients
