#include "clients/http_wire.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <initializer_list>

#include <boost/asio/buffer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/string.hpp>

namespace medgate::clients {

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

// A field the writer adds of its own (framing, connection management).
struct Line {
  std::string_view name;
  std::string_view value;
};

std::string_view version_text(unsigned version) {
  return version == 10 ? "HTTP/1.0" : "HTTP/1.1";
}

bool overridden(std::string_view name, std::span<const FieldOverride> overrides) {
  for (const auto& o : overrides) {
    // The length first, here: most names differ in it, and the call costs more than that.
    if (o.name.size() == name.size() && beast::iequals(name, o.name))
      return true;
  }
  return false;
}

// One resize and plain copies: each std::string::append checks and maybe grows.
void append_all(std::string& out, std::initializer_list<std::string_view> pieces) {
  size_t size = 0;
  for (const auto piece : pieces)
    size += piece.size();
  const size_t at = out.size();
  out.resize(at + size);
  char* p = out.data() + at;
  for (const auto piece : pieces) {
    std::memcpy(p, piece.data(), piece.size());
    p += piece.size();
  }
}

size_t line_size(std::string_view name, std::string_view value) {
  return name.size() + value.size() + 4;
}

// The writer's own lines and the edits, then the blank line, at `p` (sized by the caller).
void put_tail(char* p, std::span<const Line> own, std::span<const FieldOverride> edits) {
  for (const auto& l : own)
    p = put_field_line(p, l.name, l.value);
  for (const auto& o : edits)
    p = put_field_line(p, o.name, o.value);
  std::memcpy(p, "\r\n", 2);
}

size_t tail_size(std::span<const Line> own, std::span<const FieldOverride> edits) {
  size_t size = 2;  // the blank line
  for (const auto& l : own)
    size += line_size(l.name, l.value);
  for (const auto& o : edits)
    size += line_size(o.name, o.value);
  return size;
}

// Sized first, then written with plain copies into one resize: appending piece by piece
// (four appends per field) cost about 1000 instructions for a small response header.
void append_fields(std::string& out, const WireFields& fields, std::span<const Line> own,
                   std::span<const FieldOverride> edits) {
  const size_t n = fields.size();
  size_t size = tail_size(own, edits) + fields.line_bytes();
  // Which fields the edits replace, found once for both passes (beyond 64 fields, rare,
  // the copy pass asks again).
  uint64_t replaced = 0;
  if (!edits.empty()) {
    for (size_t i = 0; i < n; ++i) {
      const WireField f = fields[i];
      if (overridden(f.name, edits)) {
        size -= f.line.size();
        if (i < 64)
          replaced |= uint64_t{1} << i;
      }
    }
  }
  const size_t at = out.size();
  out.resize(at + size);
  char* p = out.data() + at;
  for (size_t i = 0; i < n; ++i) {
    const WireField f = fields[i];
    const bool skip = i < 64 ? (replaced >> i) & 1 : overridden(f.name, edits);
    if (!skip) {
      std::memcpy(p, f.line.data(), f.line.size());
      p += f.line.size();
    }
  }
  put_tail(p, own, edits);
}

void append_fields(std::string& out, const wire_http::fields& fields,
                   std::span<const FieldOverride> edits) {
  auto kept = [&](const auto& f) { return edits.empty() || !overridden(f.name_string(), edits); };
  size_t size = tail_size({}, edits);
  for (const auto& f : fields)
    if (kept(f))
      size += line_size(f.name_string(), f.value());
  const size_t at = out.size();
  out.resize(at + size);
  char* p = out.data() + at;
  for (const auto& f : fields)
    if (kept(f))
      p = put_field_line(p, f.name_string(), f.value());
  put_tail(p, {}, edits);
}

bool method_expects_body(wire_http::verb v) {
  return v == wire_http::verb::post || v == wire_http::verb::put || v == wire_http::verb::patch;
}

void append_status_line(std::string& out, unsigned version, unsigned status,
                        std::string_view reason) {
  char digits[8];
  const auto end = std::to_chars(digits, digits + sizeof digits, status).ptr;
  append_all(out, {version_text(version), " ", std::string_view(digits, end), " ", reason, "\r\n"});
}

}  // namespace

void append_header(std::string& out, const WireRequest& r, const WireEdits& edits) {
  append_all(out,
             {r.method_text, " ", edits.target.empty() ? std::string_view(r.target) : edits.target,
              " HTTP/1.1\r\n"});
  char digits[24];
  std::array<Line, 1> own;
  size_t n_own = 0;
  if (!r.body.empty() || method_expects_body(r.method)) {
    const auto end = std::to_chars(digits, digits + sizeof digits, r.body.size()).ptr;
    own[n_own++] = {"Content-Length", std::string_view(digits, end)};
  }
  append_fields(out, r.fields, std::span(own).first(n_own), edits.fields);
}

void append_header(std::string& out, const WireResponse& r, ResponseHop hop,
                   const WireEdits& edits) {
  append_status_line(out, hop.version, r.status,
                     r.reason.empty() ? reason_phrase(r.status) : std::string_view(r.reason));
  char digits[24];
  std::array<Line, 2> own;
  size_t n_own = 0;
  if (r.sized_by_body) {
    const auto end = std::to_chars(digits, digits + sizeof digits, r.body.size()).ptr;
    own[n_own++] = {"Content-Length", std::string_view(digits, end)};
  }
  // Persistence is HTTP/1.1's default and HTTP/1.0's exception.
  if (hop.version != 10 && !hop.keep_alive)
    own[n_own++] = {"Connection", "close"};
  else if (hop.version == 10 && hop.keep_alive)
    own[n_own++] = {"Connection", "keep-alive"};
  append_fields(out, r.fields, std::span(own).first(n_own), edits.fields);
}

void append_header(std::string& out, const wire_http::request_header<>& h, const WireEdits& edits) {
  out.append(h.method_string());
  out.push_back(' ');
  out.append(edits.target.empty() ? std::string_view(h.target()) : edits.target);
  out.push_back(' ');
  out.append(version_text(h.version()));
  out.append("\r\n");
  append_fields(out, h, edits.fields);
}

void append_header(std::string& out, const wire_http::response_header<>& h,
                   const WireEdits& edits) {
  append_status_line(out, h.version(), h.result_int(), h.reason());
  append_fields(out, h, edits.fields);
}

bool send_now(DeadlineStream& stream, std::string& scratch, std::string_view body, size_t& sent,
              beast::error_code& ec) {
  sent = 0;
  ec = {};
  const size_t total = scratch.size() + body.size();
  if (joins_body(body.size())) {
    scratch.append(body);
    sent = stream.try_send(asio::buffer(scratch), ec);
  } else {
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(scratch), asio::buffer(body)};
    sent = stream.try_send(buffers, ec);
  }
  if (ec == asio::error::would_block)
    ec = {};
  return ec || sent == total;
}

asio::awaitable<beast::error_code> send_rest(DeadlineStream& stream, const std::string& scratch,
                                             std::string_view body, size_t sent) {
  beast::error_code ec;
  if (joins_body(body.size())) {  // send_now copied the body after the header
    co_await asio::async_write(stream, asio::buffer(scratch) + sent,
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return ec;
  }
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(scratch), asio::buffer(body)};
  beast::buffers_suffix<std::array<asio::const_buffer, 2>> rest(buffers);
  rest.consume(sent);
  co_await asio::async_write(stream, rest, asio::redirect_error(asio::use_awaitable, ec));
  co_return ec;
}

namespace {

template <bool IsRequest>
asio::awaitable<beast::error_code> write_beast(
    DeadlineStream& stream, const wire_http::message<IsRequest, wire_http::string_body>& m,
    std::string& scratch, WireEdits edits) {
  if (m.chunked()) {
    // Rare (our own code never frames a message as chunked): a copy, re-framed.
    auto plain = m;
    plain.chunked(false);
    plain.content_length(plain.body().size());
    co_return co_await write_beast(stream, plain, scratch, edits);
  }
  scratch.clear();
  append_header(scratch, m.base(), edits);
  size_t sent = 0;
  beast::error_code ec;
  if (send_now(stream, scratch, m.body(), sent, ec))
    co_return ec;
  co_return co_await send_rest(stream, scratch, m.body(), sent);
}

}  // namespace

asio::awaitable<beast::error_code> write_message(
    DeadlineStream& stream, const wire_http::request<wire_http::string_body>& m,
    std::string& scratch, const WireEdits& edits) {
  return write_beast(stream, m, scratch, edits);
}

asio::awaitable<beast::error_code> write_message(
    DeadlineStream& stream, const wire_http::response<wire_http::string_body>& m,
    std::string& scratch, const WireEdits& edits) {
  return write_beast(stream, m, scratch, edits);
}

}  // namespace medgate::clients
