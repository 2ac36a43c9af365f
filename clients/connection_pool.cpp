#include "clients/connection_pool.hpp"

#include "clients/deadline_stream.hpp"
#include "clients/http_read.hpp"
#include "clients/http_wire.hpp"
#include "clients/wire_parser.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

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
  // Its last answer was a HEAD's: a misbehaving upstream may still send the body, late.
  bool after_head = false;
  // The endpoint's LiveAddress generation it was made under: a connection to an address the
  // name no longer resolves to is not reused.
  uint64_t address_generation = 0;
};

ConnectionPool::ConnectionPool(asio::any_io_executor executor, HttpEndpoint endpoint,
                               PoolOptions options)
    : executor_(std::move(executor)), endpoint_(std::move(endpoint)), options_(options) {}

ConnectionPool::~ConnectionPool() = default;

std::unique_lock<std::mutex> ConnectionPool::lock_if_shared() const {
  return options_.shared ? std::unique_lock(mu_) : std::unique_lock<std::mutex>();
}

size_t ConnectionPool::idle_connections() const {
  const auto lock = lock_if_shared();
  return idle_.size();
}

void ConnectionPool::close_idle() {
  std::vector<std::unique_ptr<Connection>> closing;
  {
    const auto lock = lock_if_shared();
    closing.swap(idle_);
  }
}

void ConnectionPool::give_back(std::unique_ptr<Connection>& conn) {
  const auto lock = lock_if_shared();
  if (idle_.size() < options_.max_idle)
    idle_.push_back(std::move(conn));
}

std::unique_ptr<ConnectionPool::Connection> ConnectionPool::take_idle() {
  const auto lock = lock_if_shared();
  const auto now = Clock::now();
  while (!idle_.empty()) {
    auto conn = std::move(idle_.back());  // most recently used: least likely to be stale
    idle_.pop_back();
    // Bytes that arrived while it was idle belong to no request of ours: drop it. Asked
    // only after a HEAD (one system call; the common path pays nothing).
    boost::system::error_code unread;
    if (now - conn->idle_since < options_.idle_timeout && conn->stream.socket().is_open() &&
        (!endpoint_.live || conn->address_generation == endpoint_.live->generation()) &&
        (!conn->after_head || (conn->stream.socket().available(unread) == 0 && !unread)))
      return conn;
  }
  return nullptr;
}

asio::awaitable<SendResult> ConnectionPool::send(const WireRequest& request, WireResponse& response,
                                                 std::chrono::nanoseconds timeout,
                                                 bool resend_on_stale, WireEdits edits) {
  // One coroutine for the whole exchange, second try included: every nested coroutine
  // costs a frame allocation per request on the hot path.
  const auto deadline = Clock::now() + timeout;
  std::unique_ptr<Connection> conn = take_idle();
  bool may_resend = resend_on_stale && conn != nullptr;  // only a reused one can be stale
  for (;;) {
    SendResult result;
    result.reused_connection = conn != nullptr;
    bool stale = false;  // failed before any response byte: the idle peer had closed it
    beast::error_code ec;
    if (!conn) {
      asio::ip::tcp::endpoint target = endpoint_.address;
      uint64_t generation = 0;
      if (endpoint_.live) {
        generation = endpoint_.live->generation();
        const auto resolved = endpoint_.live->get();
        if (!resolved) {  // the name has not resolved yet: nowhere to connect
          result.error = SendError::connect_failed;
          co_return result;
        }
        target = *resolved;
      }
      conn = std::make_unique<Connection>(executor_);
      conn->address_generation = generation;
      conn->stream.expires_at(std::min(Clock::now() + options_.connect_timeout, deadline));
      co_await conn->stream.socket().async_connect(target,
                                                   asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        result.error = SendError::connect_failed;
        co_return result;
      }
      conn->stream.socket().set_option(asio::ip::tcp::no_delay(true), ec);
    }
    if (Clock::now() >= deadline) {
      result.error = SendError::timeout;
      co_return result;
    }
    conn->stream.expires_at(deadline);

    conn->header_scratch.clear();
    append_header(conn->header_scratch, request, edits);
    size_t sent = 0;
    if (!send_now(conn->stream, conn->header_scratch, request.body, sent, ec))
      ec = co_await send_rest(conn->stream, conn->header_scratch, request.body, sent);
    if (ec) {
      const bool timed_out = conn->stream.timed_out();
      stale = !timed_out;  // nothing read yet
      result.error = timed_out ? SendError::timeout : SendError::reset;
    } else {
      bool got_some = false;
      bool keep = false;
      // Interim responses (100 Continue, 103 Early Hints) precede the real one.
      for (int interim = 0; interim < 8; ++interim) {
        WireResponseParser parser(response);
        parser.body_limit(options_.max_response_body);
        parser.header_limit(64 * 1024);
        parser.skip(request.method == http::verb::head);
        ec = co_await read_http(conn->stream, conn->buffer, parser, ReadUntil::message);
        got_some = got_some || parser.got_some();
        if (ec || response.status / 100 != 1) {
          keep = !ec && parser.keep_alive();
          break;
        }
        if (response.status == 101) {  // we never ask to switch protocols
          ec = http::error::bad_version;
          break;
        }
      }
      if (!ec && response.status / 100 == 1)
        ec = http::error::bad_status;  // nothing but interim responses
      if (!ec) {
        // We never pipeline: bytes beyond the answer (a body sent with a HEAD answer, a
        // second answer) mean the connection is out of step, and must not be reused.
        if (keep && conn->buffer.size() == 0 && options_.max_idle > 0) {
          conn->after_head = request.method == http::verb::head;
          conn->idle_since = Clock::now();
          conn->stream.expires_never();
          give_back(conn);  // closed when the idle list is full
        }
        co_return result;
      }
      if (conn->stream.timed_out()) {
        result.error = SendError::timeout;
      } else if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
                 ec != http::error::end_of_stream && ec != http::error::partial_message) {
        // Not HTTP, or over a size limit: a protocol failure, not a transport one.
        result.error = SendError::bad_response;
      } else {
        stale = !got_some;
        result.error = SendError::reset;
      }
    }
    conn.reset();
    if (stale && may_resend && Clock::now() < deadline) {
      may_resend = false;  // once, and always on a fresh connection
      continue;
    }
    co_return result;
  }
}

}  // namespace medgate::clients
