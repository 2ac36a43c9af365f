#include "clients/http_wire.hpp"

#include <charconv>

#include <boost/beast/core/string.hpp>

namespace medgate::clients {

namespace {

std::string_view version_text(unsigned version) {
  return version == 10 ? "HTTP/1.0" : "HTTP/1.1";
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

bool overridden(std::string_view name, std::span<const FieldOverride> overrides) {
  for (const auto& o : overrides) {
    if (boost::beast::iequals(name, o.name))
      return true;
  }
  return false;
}

template <typename Fields>
void append_fields(std::string& out, const Fields& fields, std::span<const FieldOverride> edits) {
  for (const auto& f : fields) {
    if (edits.empty() || !overridden(f.name_string(), edits))
      append_field(out, f.name_string(), f.value());
  }
  for (const auto& o : edits)
    append_field(out, o.name, o.value);
  out.append("\r\n");
}

}  // namespace

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
  out.append(version_text(h.version()));
  out.push_back(' ');
  char digits[8];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, h.result_int());
  out.append(digits, end);
  out.push_back(' ');
  out.append(h.reason());
  out.append("\r\n");
  append_fields(out, h, edits.fields);
}

}  // namespace medgate::clients
