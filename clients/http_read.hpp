// Reads one HTTP/1.x message (or its header) into a Beast parser.
//
// Does what http::async_read / async_read_header do, with one coroutine and plain socket
// reads instead of Beast's stack of composed operations (read_op, read_some_op, their
// executor work guards and type-erased executor copies), which in callgrind cost more per
// proxied request than parsing the messages themselves.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>

#include "clients/deadline_stream.hpp"

namespace medgate::clients {

enum class ReadUntil { header, message };

// Parses what `buffer` already holds, reading more from `stream` while the parser needs
// it. Bytes past the message stay in `buffer` for the next one. Errors are Beast's
// (end_of_stream: the peer closed before a byte of this message; partial_message,
// header_limit, body_limit, ...) or the socket's (a deadline closes the socket).
template <bool IsRequest>
boost::asio::awaitable<boost::beast::error_code> read_http(
    DeadlineStream& stream, boost::beast::flat_buffer& buffer,
    boost::beast::http::basic_parser<IsRequest>& parser, ReadUntil until);

// The same for any AsyncReadStream (clients/http_read_impl.hpp has its body): a TLS stream
// on a DeadlineStream reads through this.
template <bool IsRequest, typename Stream>
boost::asio::awaitable<boost::beast::error_code> read_http_from(
    Stream& stream, boost::beast::flat_buffer& buffer,
    boost::beast::http::basic_parser<IsRequest>& parser, ReadUntil until);

extern template boost::asio::awaitable<boost::beast::error_code> read_http<true>(
    DeadlineStream&, boost::beast::flat_buffer&, boost::beast::http::basic_parser<true>&,
    ReadUntil);
extern template boost::asio::awaitable<boost::beast::error_code> read_http<false>(
    DeadlineStream&, boost::beast::flat_buffer&, boost::beast::http::basic_parser<false>&,
    ReadUntil);

}  // namespace medgate::clients
