#include "clients/http_wire.hpp"

#include <charconv>
#include <cstring>

#include <boost/beast/core/string.hpp>

namespace medgate::clients {

namespace {

std::string_view version_text(unsigned version) {
  return version == 10 ? "HTTP/1.0" : "HTTP/1.1";
}

bool overridden(std::string_view name, std::span<const FieldOverride> overrides) {
  for (const auto& o : overrides) {
    if (boost::beast::iequals(name, o.name))
      return true;
  }
  return false;
}

// "name: value\r\n" at `p`; returns the end.
char* put_field(char* p, std::string_view name, std::string_view value) {
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  std::memcpy(p, ": ", 2);
  p += 2;
  std::memcpy(p, value.data(), value.size());
  p += value.size();
  std::memcpy(p, "\r\n", 2);
  return p + 2;
}

// Sized first, then written with plain copies into one resize: appending piece by piece
// (four appends per field) cost about 1000 instructions for a small response header.
template <typename Fields>
void append_fields(std::string& out, const Fields& fields, std::span<const FieldOverride> edits) {
  auto kept = [&](const auto& f) { return edits.empty() || !overridden(f.name_string(), edits); };
  size_t size = 2;  // the blank line
  for (const auto& f : fields)
    if (kept(f))
      size += f.name_string().size() + f.value().size() + 4;
  for (const auto& o : edits)
    size += o.name.size() + o.value.size() + 4;
  const size_t at = out.size();
  out.resize(at + size);
  char* p = out.data() + at;
  for (const auto& f : fields)
    if (kept(f))
      p = put_field(p, f.name_string(), f.value());
  for (const auto& o : edits)
    p = put_field(p, o.name, o.value);
  std::memcpy(p, "\r\n", 2);
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
