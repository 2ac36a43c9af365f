// HTTP/1.x messages kept close to their wire form, for a proxy.
//
// A proxy reads a header to pass it on and looks at only a few of its fields. Beast's
// message type gives every field a node of its own in a tree and a list (an allocation and
// a tree insert per field), then walks them again to write them: callgrind put that at
// ~3.8k of the ~20k instructions of a proxied request. Here the fields stay one string of
// "Name: value\r\n" lines, in the order received, with a small index, and are written out
// by copying those lines. Callers keep one message per connection and parse into it again,
// so its buffers keep their capacity.
//
// Only end-to-end fields are kept. Framing and connection management belong to one hop:
// the parser drops Transfer-Encoding, Connection and the fields it names, Keep-Alive,
// Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE, Trailer and Upgrade, and
// the writer states its own (a body is always held whole, so it goes out with a
// Content-Length).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <ostream>  // Boost 1.81's string_view header uses it without including it
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

namespace medgate::clients {

namespace wire_http = boost::beast::http;

// One field, viewing its owner's storage.
struct WireField {
  wire_http::field id;  // field::unknown for names Beast has no constant for
  std::string_view name;
  std::string_view value;
  std::string_view line;  // "name: value\r\n"
};

// The header fields of a message, in order.
class WireFields {
 public:
  void clear();
  void add(wire_http::field id, std::string_view name, std::string_view value);
  void add(std::string_view name, std::string_view value);  // looks the id up
  // Replaces every field of that name (case-insensitive) by one.
  void set(std::string_view name, std::string_view value);
  void erase(wire_http::field id);  // every field with this id; not for field::unknown
  void erase(std::string_view name);

  // The first field of that name (case-insensitive).
  [[nodiscard]] std::optional<std::string_view> find(wire_http::field id) const;
  [[nodiscard]] std::optional<std::string_view> find(std::string_view name) const;

  [[nodiscard]] size_t size() const { return entries_.size(); }
  [[nodiscard]] WireField operator[](size_t i) const {  // inline: writers call it per field
    const Entry& e = entries_[i];
    const char* p = text_.data() + e.at;
    return WireField{e.id, std::string_view(p, e.name_len),
                     std::string_view(p + e.name_len + 2, e.value_len),
                     std::string_view(p, e.name_len + e.value_len + 4)};
  }
  // Bytes of every field line ("name: value\r\n"), for sizing a header.
  [[nodiscard]] size_t line_bytes() const { return line_bytes_; }

 private:
  struct Entry {
    wire_http::field id;
    uint32_t at;  // into text_
    uint32_t name_len;
    uint32_t value_len;
  };
  // Erased fields leave their text behind: the writer copies lines entry by entry.
  std::string text_;
  std::vector<Entry> entries_;
  size_t line_bytes_ = 0;
};

struct WireRequest {
  wire_http::verb method = wire_http::verb::get;
  std::string method_text = "GET";  // as received (also for verb::unknown)
  std::string target = "/";
  unsigned version = 11;         // 10 or 11
  bool keep_alive = true;        // what the sender wants of its connection
  bool expect_continue = false;  // sent "Expect: 100-continue" (dropped from fields)
  WireFields fields;             // end-to-end only; never Content-Length
  std::string body;

  void set_method(wire_http::verb v);
  void clear();  // keeps capacity
};

struct WireResponse {
  unsigned status = 200;
  std::string reason;  // as received; empty: the standard phrase for the status
  WireFields fields;   // end-to-end only; Content-Length only when !sized_by_body
  std::string body;
  // True: the writer sends Content-Length: body.size(). False for a message that has no
  // body by its status (1xx, 204, 304) or because it answers a HEAD request; whatever
  // Content-Length it carries is then passed on as it is.
  bool sized_by_body = true;

  void clear();  // keeps capacity
};

// The standard reason phrase, or "Unknown".
[[nodiscard]] std::string_view reason_phrase(unsigned status);

// Whether a status may carry a body at all (RFC 9110 §6.4.1).
[[nodiscard]] constexpr bool status_allows_body(unsigned status) {
  return status / 100 != 1 && status != 204 && status != 304;
}

// Writes "name: value\r\n" at `p`, which has room for name.size() + value.size() + 4
// bytes; returns the end. Both the field store and the header writer lay lines out so.
inline char* put_field_line(char* p, std::string_view name, std::string_view value) {
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  std::memcpy(p, ": ", 2);
  p += 2;
  std::memcpy(p, value.data(), value.size());
  p += value.size();
  std::memcpy(p, "\r\n", 2);
  return p + 2;
}

// Connection management and framing fields, dropped when a message is read.
[[nodiscard]] bool is_hop_by_hop(wire_http::field id);

}  // namespace medgate::clients
