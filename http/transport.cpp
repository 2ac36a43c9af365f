#include "http/transport.hpp"

#include <array>

#include <boost/asio/buffer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>

#include "clients/http_read_impl.hpp"

namespace medgate::httpd {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

asio::awaitable<beast::error_code> PlainTransport::handshake() {
  co_return beast::error_code{};
}

asio::awaitable<void> PlainTransport::finish() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  co_return;
}

asio::awaitable<beast::error_code> TlsTransport::handshake() {
  beast::error_code ec;
  co_await stream_.async_handshake(asio::ssl::stream_base::server,
                                   asio::redirect_error(asio::use_awaitable, ec));
  co_return ec;
}

asio::awaitable<beast::error_code> TlsTransport::read(beast::flat_buffer& buffer,
                                                      beast::http::basic_parser<true>& parser,
                                                      clients::ReadUntil until) {
  return clients::read_http_from<true>(stream_, buffer, parser, until);
}

asio::awaitable<beast::error_code> TlsTransport::send_rest(const std::string& scratch,
                                                           std::string_view body, size_t sent) {
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(scratch), asio::buffer(body)};
  beast::buffers_suffix<std::array<asio::const_buffer, 2>> rest(buffers);
  rest.consume(sent);
  beast::error_code ec;
  co_await asio::async_write(stream_, rest, asio::redirect_error(asio::use_awaitable, ec));
  co_return ec;
}

asio::awaitable<void> TlsTransport::finish() {
  stream_.next_layer().expires_after(std::chrono::seconds(2));
  beast::error_code ignored;
  co_await stream_.async_shutdown(asio::redirect_error(asio::use_awaitable, ignored));
}

}  // namespace medgate::httpd
