#include "gateway/http_util.hpp"

#include <charconv>
#include <cmath>

#include <boost/json/serialize.hpp>

namespace medgate::gateway {

namespace http = boost::beast::http;

clients::WireResponse text_response(unsigned status, std::string body,
                                    std::string_view content_type) {
  clients::WireResponse res;
  res.status = status;
  res.fields.add(http::field::content_type, "Content-Type", content_type);
  res.fields.add(http::field::cache_control, "Cache-Control", "no-store");
  res.body = std::move(body);
  return res;
}

void append_readable_json(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, value] : v.get_object()) {
        if (!first)
          out += ',';
        first = false;
        append_json_string(out, key);
        out += ':';
        append_readable_json(out, value);
      }
      out += '}';
      return;
    }
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first)
          out += ',';
        first = false;
        append_readable_json(out, item);
      }
      out += ']';
      return;
    }
    case boost::json::kind::string:
      append_json_string(out, v.get_string());
      return;
    case boost::json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d)) {
        out += "null";
        return;
      }
      char buf[64];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed, 6);
      if (ec != std::errc()) {
        out += boost::json::serialize(v);
        return;
      }
      // Trim "0.500000" to "0.5" and "2.000000" to "2.0".
      while (end > buf + 1 && *(end - 1) == '0' && *(end - 2) != '.')
        --end;
      out.append(buf, end);
      return;
    }
    default:
      out += boost::json::serialize(v);
  }
}

std::string to_readable_json(const boost::json::value& v) {
  std::string out;
  append_readable_json(out, v);
  return out;
}

clients::WireResponse json_response(unsigned status, const boost::json::object& body) {
  return text_response(status, to_readable_json(body), "application/json");
}

clients::WireResponse error_response(unsigned status, std::string_view code,
                                     std::string_view message) {
  return json_response(status, {{"error", code}, {"message", message}});
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

std::string_view query_of(std::string_view target) {
  const size_t q = target.find('?');
  return q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
}

}  // namespace medgate::gateway
