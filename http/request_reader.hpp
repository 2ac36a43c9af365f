// Reading a request from a client: the limits, the refusal a failed read deserves, and the
// read itself (header, 100-continue, body). Used by the one request loop, Server::session.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>

#include "clients/http_read.hpp"
#include "http/limits.hpp"

namespace medgate::httpd {

// A connection's read buffer: a header is parsed whole, so the buffer holds the largest one
// allowed and then some, and the parser (not a full buffer) refuses an oversized one.
[[nodiscard]] inline boost::beast::flat_buffer request_buffer(const Limits& limits) {
  return boost::beast::flat_buffer(limits.max_header_bytes + 4096);
}

// What a failed read deserves as an answer; nullopt for failures answered by closing the
// connection (a timeout, a reset, a clean end between requests).
struct ReadRefusal {
  unsigned status;         // 431, 413 or 400
  std::string_view error;  // "header_too_large", "body_too_large", "bad_request"
  std::string message;
};
[[nodiscard]] std::optional<ReadRefusal> refusal_for(const boost::beast::error_code& ec);

// Reads one request into `parser` (its limits set here) from a transport
// (http/transport.hpp): the header within header_timeout, then, when `expects_continue()`
// says the client waits for it (Expect: 100-continue on HTTP/1.1), an interim
// "100 Continue", then the body within body_timeout. `idle` is true while the connection
// waits for a header, so a draining server may close it at once.
template <typename Transport, typename ExpectsContinue>
boost::asio::awaitable<boost::beast::error_code> read_request(
    Transport& transport, boost::beast::flat_buffer& buffer,
    boost::beast::http::basic_parser<true>& parser, const Limits& limits,
    ExpectsContinue expects_continue, bool& idle) {
  parser.header_limit(static_cast<uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);
  transport.expires_after(limits.header_timeout);
  idle = true;
  boost::beast::error_code ec = co_await transport.read(buffer, parser, clients::ReadUntil::header);
  idle = false;
  if (ec || parser.is_done())
    co_return ec;
  transport.expires_after(limits.body_timeout);
  if (expects_continue()) {
    // The client waits for this before it sends the body (RFC 9110 §10.1.1).
    std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
    size_t sent = 0;
    if (!transport.send_now(interim, {}, sent, ec))
      ec = co_await transport.send_rest(interim, {}, sent);
    if (ec)
      co_return ec;
  }
  co_return co_await transport.read(buffer, parser, clients::ReadUntil::message);
}

}  // namespace medgate::httpd
