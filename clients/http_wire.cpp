#include "clients/http_wire.hpp"

#include <charconv>

namespace medgate::clients {

namespace {

std::string_view version_text(unsigned version) {
  return version == 10 ? "HTTP/1.0" : "HTTP/1.1";
}

template <typename Fields>
void append_fields(std::string& out, const Fields& fields) {
  for (const auto& f : fields) {
    out.append(f.name_string());
    out.append(": ");
    out.append(f.value());
    out.append("\r\n");
  }
  out.append("\r\n");
}

}  // namespace

void append_header(std::string& out, const wire_http::request_header<>& h) {
  out.append(h.method_string());
  out.push_back(' ');
  out.append(h.target());
  out.push_back(' ');
  out.append(version_text(h.version()));
  out.append("\r\n");
  append_fields(out, h);
}

void append_header(std::string& out, const wire_http::response_header<>& h) {
  out.append(version_text(h.version()));
  out.push_back(' ');
  char digits[8];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, h.result_int());
  out.append(digits, end);
  out.push_back(' ');
  out.append(h.reason());
  out.append("\r\n");
  append_fields(out, h);
}

}  // namespace medgate::clients
