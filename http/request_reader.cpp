#include "http/request_reader.hpp"

#include <boost/beast/http/error.hpp>

namespace medgate::httpd {

namespace http = boost::beast::http;

std::optional<ReadRefusal> refusal_for(const boost::beast::error_code& ec) {
  if (ec == http::error::header_limit)
    return ReadRefusal{431, "header_too_large", "request header exceeds the limit"};
  if (ec == http::error::body_limit)
    return ReadRefusal{413, "body_too_large", "request body exceeds the limit"};
  // Beast's parse errors mean a malformed request; its end-of-stream errors and the socket's
  // (timeouts close the socket) mean there is no one to answer.
  if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message)
    return ReadRefusal{400, "bad_request", ec.message()};
  return std::nullopt;
}

}  // namespace medgate::httpd
