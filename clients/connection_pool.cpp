#include "clients/connection_pool.hpp"

#include "clients/deadline_stream.hpp"
#include "clients/http_wire.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace medgate::clients {

namespace asio = boost::asio;
namespace beast = boost::beast;
using Clock = std::chrono::steady_clock;

struct ConnectionPool::Connection {
  explicit Connection(const asio::any_io_executor& ex) : stream(ex) {}
  DeadlineStream stream;
  beast::flat_buffer buffer;
  std::string header_scratch;  // reused by every request written on this connection
  Clock::time_point idle_since{};
};

ConnectionPool::ConnectionPool(asio::any_io_executor executor, HttpEndpoint endpoint,
                               PoolOptions options)
    : executor_(std::move(executor)), endpoint_(std::move(endpoint)), options_(options) {}

ConnectionPool::~ConnectionPool() = default;

void ConnectionPool::close_idle() {
  idle_.clear();
}

std::unique_ptr<ConnectionPool::Connection> ConnectionPool::take_idle() {
  const auto now = Clock::now();
  while (!idle_.empty()) {
    auto conn = std::move(idle_.back());  // most recently used: least likely to be stale
    idle_.pop_back();
    if (now - conn->idle_since < options_.idle_timeout && conn->stream.socket().is_open())
      return conn;
  }
  return nullptr;
}

asio::awaitable<SendResult> ConnectionPool::send(const Request& request,
                                                 std::chrono::nanoseconds timeout,
                                                 bool resend_on_stale) {
  const auto deadline = Clock::now() + timeout;
  std::unique_ptr<Connection> conn = take_idle();
  const bool reused = conn != nullptr;
  bool stale = false;
  SendResult result = co_await send_once(conn, request, timeout, stale);
  result.reused_connection = reused;
  if (stale && reused && resend_on_stale) {
    const auto left = deadline - Clock::now();
    if (left > std::chrono::nanoseconds::zero()) {
      conn.reset();  // always a fresh connection for the second try
      result = co_await send_once(conn, request, left, stale);
      result.reused_connection = false;
    }
  }
  if (result.error == SendError::none && conn) {
    const bool keep = result.response.keep_alive() && !result.response.need_eof();
    if (keep && idle_.size() < options_.max_idle) {
      conn->idle_since = Clock::now();
      conn->stream.expires_never();
      idle_.push_back(std::move(conn));
    }
  }
  co_return result;
}

asio::awaitable<SendResult> ConnectionPool::send_once(std::unique_ptr<Connection>& conn,
                                                      const Request& request,
                                                      std::chrono::nanoseconds timeout,
                                                      bool& stale) {
  SendResult result;
  stale = false;
  beast::error_code ec;
  const auto started = Clock::now();
  if (!conn) {
    conn = std::make_unique<Connection>(executor_);
    conn->stream.expires_after(
        std::min<std::chrono::nanoseconds>(options_.connect_timeout, timeout));
    co_await conn->stream.socket().async_connect(endpoint_.address,
                                                 asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      conn.reset();
      result.error = SendError::connect_failed;
      co_return result;
    }
    conn->stream.socket().set_option(asio::ip::tcp::no_delay(true), ec);
  }
  const auto left = timeout - (Clock::now() - started);
  if (left <= std::chrono::nanoseconds::zero()) {
    conn.reset();
    result.error = SendError::timeout;
    co_return result;
  }
  conn->stream.expires_after(left);

  ec = co_await write_message(conn->stream, request, conn->header_scratch);
  if (ec) {
    const bool timed_out = conn->stream.timed_out();
    stale = !timed_out;  // nothing read yet: the peer closed the idle connection
    conn.reset();
    result.error = timed_out ? SendError::timeout : SendError::reset;
    co_return result;
  }

  http::response_parser<http::string_body> parser;
  parser.body_limit(options_.max_response_body);
  parser.header_limit(64 * 1024);
  co_await http::async_read(conn->stream, conn->buffer, parser,
                            asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    const bool nothing_received = !parser.got_some();
    const bool timed_out = conn->stream.timed_out();
    conn.reset();
    if (timed_out) {
      result.error = SendError::timeout;
    } else if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message) {
      // Not HTTP, or over a size limit: a protocol failure, not a transport one.
      result.error = SendError::bad_response;
    } else {
      stale = nothing_received;
      result.error = SendError::reset;
    }
    co_return result;
  }
  result.response = parser.release();
  if (result.response.chunked()) {
    // The body is complete in memory now: pass it on with a plain length.
    result.response.chunked(false);
    result.response.content_length(result.response.body().size());
  }
  co_return result;
}

}  // namespace medgate::clients
