// Writes a whole HTTP/1.x message with one send.
//
// Beast's serializer walks the header as a chain of many small buffers, and in a proxy whose
// requests and responses are a few hundred bytes that walk was the largest single CPU cost
// (callgrind: ~40 % of instructions per proxied request). Here the start line and the
// fields are formatted into one reusable string and sent together with the body in a
// single send. Two kinds of message are written: the proxy's wire-form messages
// (clients/wire_message.hpp) and Beast's, which the services build.
#pragma once

#include <array>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "clients/deadline_stream.hpp"
#include "clients/wire_message.hpp"

namespace medgate::clients {

// A header field sent in place of any field of the same name (compared case-insensitively)
// that the message carries.
struct FieldOverride {
  std::string_view name;
  std::string_view value;
};

// Changes applied while formatting instead of to the message: the few fields a proxy
// changes on every request (Host, X-Request-Id, ...) cost least when written in place.
struct WireEdits {
  std::string_view target;  // requests: sent instead of the message's target when not empty
  std::span<const FieldOverride> fields;
};

// How a response goes out on the connection it answers.
struct ResponseHop {
  unsigned version = 11;   // the request's: 10 or 11
  bool keep_alive = true;  // whether this connection stays open after the response
};

// Appends the start line, the fields and the blank line that ends the header.
// A wire request goes out as HTTP/1.1 on a persistent connection, with a Content-Length
// when it has a body (or its method expects one).
void append_header(std::string& out, const WireRequest& r, const WireEdits& edits = {});
void append_header(std::string& out, const WireResponse& r, ResponseHop hop,
                   const WireEdits& edits = {});
void append_header(std::string& out, const wire_http::request_header<>& h,
                   const WireEdits& edits = {});
void append_header(std::string& out, const wire_http::response_header<>& h,
                   const WireEdits& edits = {});

// A body this small is copied behind the header and the two go in a plain send(): cheaper
// in the kernel than a gathered sendmsg(), and the copy costs next to nothing.
constexpr bool joins_body(size_t body_bytes) {
  return body_bytes <= 16 * 1024;
}

// Sending is split in two so the usual case costs no coroutine: `send_now` sends the
// header already formatted in `scratch` (callers keep one per connection, so its capacity
// is reused) and `body`, in one non-blocking send. It returns true when it is finished:
// everything was sent, or `ec` says why not. Otherwise `send_rest` sends the remainder
// asynchronously (`sent` bytes already went; `scratch` and `body` must be left as they are).
bool send_now(DeadlineStream& stream, std::string& scratch, std::string_view body, size_t& sent,
              boost::beast::error_code& ec);
boost::asio::awaitable<boost::beast::error_code> send_rest(DeadlineStream& stream,
                                                           const std::string& scratch,
                                                           std::string_view body, size_t sent);

// A Beast message, header and body; one still framed as chunked (its whole body is in
// memory) goes out with a Content-Length instead.
boost::asio::awaitable<boost::beast::error_code> write_message(
    DeadlineStream& stream, const wire_http::request<wire_http::string_body>& m,
    std::string& scratch, const WireEdits& edits = {});
boost::asio::awaitable<boost::beast::error_code> write_message(
    DeadlineStream& stream, const wire_http::response<wire_http::string_body>& m,
    std::string& scratch, const WireEdits& edits = {});

}  // namespace medgate::clients
