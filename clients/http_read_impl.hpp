// The body of read_http, for any AsyncReadStream: a DeadlineStream (clients/http_read.cpp
// instantiates it) or a TLS stream on one (http/transport.cpp). Include it only there.
#pragma once

#include <type_traits>

#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>

#include "clients/http_read.hpp"

namespace medgate::clients {

// A TLS layer may hold decrypted bytes that the socket no longer shows, so only a plain
// DeadlineStream re-arms the socket (see below); a TLS stream reads on through its layer.
template <bool IsRequest, typename Stream>
boost::asio::awaitable<boost::beast::error_code> read_http_from(
    Stream& stream, boost::beast::flat_buffer& buffer,
    boost::beast::http::basic_parser<IsRequest>& parser, ReadUntil until) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  // Eager: parse body bytes as soon as they are buffered (as http::async_read does).
  parser.eager(until == ReadUntil::message);
  auto finished = [&] {
    return until == ReadUntil::header ? parser.is_header_done() : parser.is_done();
  };
  beast::error_code ec;
  // A short read told the reactor the socket was drained (clients/draining_read.hpp), so
  // the next read waits for a new epoll edge. If the peer's FIN or RST came in the same
  // edge as those bytes, no further edge will come: a read that continues the same
  // message therefore first asks the reactor to look at the socket again (async_wait
  // re-arms it, and the kernel reports what is already pending). The first read of the
  // next message skips that, which is the point: the peer has usually not sent it yet.
  // Before this call's first read, the socket's previous read (an earlier call's, which
  // may have buffered the start of this message) may have been short too.
  // The price: a FIN or RST that came with the last bytes of a *complete* message is seen
  // only at the next message's deadline (a keep-alive client that half-closes right after
  // its request holds its connection until header_timeout; a pooled upstream connection
  // closed that way fails the next request's read, which the pool re-sends as stale).
  bool last_read_short = true;
  for (;;) {
    if (finished())
      co_return beast::error_code{};
    if (buffer.size() != 0) {
      const size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (!ec && used != 0)
        continue;
      if (ec && ec != http::error::need_more)
        co_return ec;
      ec = {};
    }
    // The buffer may grow to 64 KiB per read; header and body limits are the parser's.
    const size_t room = beast::read_size(buffer, 65536);
    if (room == 0)
      co_return http::error::buffer_overflow;
    if constexpr (std::is_same_v<Stream, DeadlineStream>) {
      if (last_read_short && parser.got_some()) {
        co_await stream.socket().async_wait(asio::socket_base::wait_read,
                                            asio::redirect_error(asio::use_awaitable, ec));
        if (ec)
          co_return ec;
      }
    }
    const size_t n = co_await stream.async_read_some(buffer.prepare(room),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    buffer.commit(n);
    last_read_short = n < room;
    if (ec == asio::error::eof) {
      if (!parser.got_some())
        co_return http::error::end_of_stream;
      ec = {};
      parser.put_eof(ec);  // a body delimited by the end of the connection ends here
      co_return ec;        // or partial_message
    }
    if (ec)
      co_return ec;
  }
}

}  // namespace medgate::clients
