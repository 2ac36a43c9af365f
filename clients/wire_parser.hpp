// Beast's HTTP parser, filling a WireRequest or WireResponse (clients/wire_message.hpp).
// The parsing, its checks and limits are Beast's; only what is kept of the message differs
// from http::parser: hop-by-hop fields are dropped, the others stored as wire text.
#pragma once

#include <string>
#include <type_traits>

#include <boost/beast/http/basic_parser.hpp>

#include "clients/wire_message.hpp"

namespace medgate::clients {

template <bool IsRequest>
class WireParser final : public boost::beast::http::basic_parser<IsRequest> {
 public:
  using Message = std::conditional_t<IsRequest, WireRequest, WireResponse>;

  // Which header fields the message keeps: the end-to-end ones (a proxy's, the usual), or
  // all as received but the framing (Content-Length, Transfer-Encoding): a test fixture
  // that reports what reached it.
  enum class FieldsKept { end_to_end, all };

  // Clears `message` and fills it as input is put; it must outlive the parser.
  explicit WireParser(Message& message, FieldsKept kept = FieldsKept::end_to_end);

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;

  void on_request_impl(wire_http::verb method, string_view method_str, string_view target,
                       int version, error_code& ec) override;
  void on_response_impl(int code, string_view reason, int version, error_code& ec) override;
  void on_field_impl(wire_http::field id, string_view name, string_view value,
                     error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code& ec) override;
  size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, string_view extensions, error_code& ec) override;
  size_t on_chunk_body_impl(std::uint64_t remain, string_view body, error_code& ec) override;
  void on_finish_impl(error_code& ec) override;

  Message& m_;
  const FieldsKept kept_;
  // Connection's value when it names more than close/keep-alive: those fields go too.
  std::string connection_names_;
};

extern template class WireParser<true>;
extern template class WireParser<false>;

using WireRequestParser = WireParser<true>;
using WireResponseParser = WireParser<false>;

}  // namespace medgate::clients
