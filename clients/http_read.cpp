#include "clients/http_read.hpp"

#include "clients/http_read_impl.hpp"

namespace medgate::clients {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

template <bool IsRequest>
asio::awaitable<beast::error_code> read_http(DeadlineStream& stream, beast::flat_buffer& buffer,
                                             http::basic_parser<IsRequest>& parser,
                                             ReadUntil until) {
  return read_http_from<IsRequest>(stream, buffer, parser, until);
}

template asio::awaitable<beast::error_code> read_http<true>(DeadlineStream&, beast::flat_buffer&,
                                                            http::basic_parser<true>&, ReadUntil);
template asio::awaitable<beast::error_code> read_http<false>(DeadlineStream&, beast::flat_buffer&,
                                                             http::basic_parser<false>&, ReadUntil);

}  // namespace medgate::clients
