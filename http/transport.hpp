// The two kinds of connection a server answers on, with the same few operations, so the
// request loop (http/session.hpp) is written once for both.
//
// PlainTransport is the socket as it is, with clients/ shortcuts on the fast path: a read
// that tells the reactor when the socket is drained, and a send that tries the socket
// before it costs a coroutine. TlsTransport is Asio's SSL stream on the same
// DeadlineStream, so timeouts, limits and reads are the same; it sends through the TLS
// layer, which always takes a coroutine.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>

#include "clients/deadline_stream.hpp"
#include "clients/http_read.hpp"
#include "clients/http_wire.hpp"

namespace medgate::httpd {

class PlainTransport {
 public:
  explicit PlainTransport(boost::asio::ip::tcp::socket socket) : stream_(std::move(socket)) {}

  [[nodiscard]] boost::asio::ip::tcp::socket& socket() noexcept { return stream_.socket(); }
  void expires_after(std::chrono::steady_clock::duration d) { stream_.expires_after(d); }
  void expires_never() { stream_.expires_never(); }

  // Nothing to agree on before the first request.
  [[nodiscard]] static bool needs_handshake() { return false; }
  [[nodiscard]] boost::asio::awaitable<boost::beast::error_code> handshake();

  [[nodiscard]] boost::asio::awaitable<boost::beast::error_code> read(
      boost::beast::flat_buffer& buffer, boost::beast::http::basic_parser<true>& parser,
      clients::ReadUntil until) {
    return clients::read_http(stream_, buffer, parser, until);
  }
  // `scratch` (the header) then `body`: true when finished (all sent, or `ec` says why
  // not); otherwise send_rest sends the remainder (`sent` bytes went already).
  bool send_now(std::string& scratch, std::string_view body, size_t& sent,
                boost::beast::error_code& ec) {
    return clients::send_now(stream_, scratch, body, sent, ec);
  }
  [[nodiscard]] boost::asio::awaitable<boost::beast::error_code> send_rest(
      const std::string& scratch, std::string_view body, size_t sent) {
    return clients::send_rest(stream_, scratch, body, sent);
  }
  // The end of a connection that answered: no more bytes from us.
  [[nodiscard]] boost::asio::awaitable<void> finish();

 private:
  clients::DeadlineStream stream_;
};

class TlsTransport {
 public:
  TlsTransport(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& ctx)
      : stream_(std::move(socket), ctx) {}

  [[nodiscard]] boost::asio::ip::tcp::socket& socket() noexcept {
    return stream_.next_layer().socket();
  }
  void expires_after(std::chrono::steady_clock::duration d) {
    stream_.next_layer().expires_after(d);
  }
  void expires_never() { stream_.next_layer().expires_never(); }

  [[nodiscard]] static bool needs_handshake() { return true; }
  // The server side of the TLS handshake (the caller sets its deadline).
  [[nodiscard]] boost::asio::awaitable<boost::beast::error_code> handshake();

  [[nodiscard]] boost::asio::awaitable<boost::beast::error_code> read(
      boost::beast::flat_buffer& buffer, boost::beast::http::basic_parser<true>& parser,
      clients::ReadUntil until);
  static bool send_now(std::string&, std::string_view, size_t& sent, boost::beast::error_code& ec) {
    sent = 0;
    ec = {};
    return false;  // every byte goes through the TLS layer's write
  }
  [[nodiscard]] boost::asio::awaitable<boost::beast::error_code> send_rest(
      const std::string& scratch, std::string_view body, size_t sent);
  // close_notify, within 2 s.
  [[nodiscard]] boost::asio::awaitable<void> finish();

 private:
  boost::asio::ssl::stream<clients::DeadlineStream> stream_;
};

}  // namespace medgate::httpd
