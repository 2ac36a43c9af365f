#include "auth/canonical_path.hpp"

#include <vector>

#include "text/hex.hpp"

namespace medgate::auth {

namespace {

bool unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
}

// One segment with its percent-encodings normalized; nullopt when refused.
std::optional<std::string> normalize_segment(std::string_view seg) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(seg.size());
  for (size_t i = 0; i < seg.size(); ++i) {
    const auto c = static_cast<unsigned char>(seg[i]);
    if (c == '%') {
      if (i + 2 >= seg.size())
        return std::nullopt;
      const int hi = text::hex_digit(seg[i + 1]);
      const int lo = text::hex_digit(seg[i + 2]);
      if (hi < 0 || lo < 0)
        return std::nullopt;
      const auto decoded = static_cast<unsigned char>(hi * 16 + lo);
      if (decoded == '/' || decoded == '\\' || decoded < 0x20 || decoded == 0x7f)
        return std::nullopt;
      if (unreserved(decoded)) {
        out += static_cast<char>(decoded);
      } else {
        out += '%';
        out += kHex[decoded >> 4];
        out += kHex[decoded & 0xf];
      }
      i += 2;
      continue;
    }
    if (c == '\\' || c < 0x20 || c == 0x7f)
      return std::nullopt;
    out += static_cast<char>(c);
  }
  return out;
}

}  // namespace

bool may_need_canonicalizing(std::string_view path) {
  return path.empty() || path.front() != '/' || path.find('%') != std::string_view::npos ||
         path.find("//") != std::string_view::npos || path.find("/.") != std::string_view::npos ||
         path.find('\\') != std::string_view::npos;
}

std::optional<std::string> canonical_path(std::string_view path) {
  if (path.empty() || path.front() != '/')
    return std::nullopt;
  std::vector<std::string> segments;
  std::string_view last;  // the last raw segment decides the trailing slash
  std::string_view rest = path.substr(1);
  for (;;) {
    const size_t slash = rest.find('/');
    const std::string_view raw = rest.substr(0, slash);
    auto seg = normalize_segment(raw);
    if (!seg)
      return std::nullopt;
    if (*seg == "..") {
      if (segments.empty())
        return std::nullopt;
      segments.pop_back();
    } else if (!seg->empty() && *seg != ".") {
      segments.push_back(std::move(*seg));
    }
    if (slash == std::string_view::npos) {
      last = *seg == "." || *seg == ".." ? std::string_view() : raw;
      break;
    }
    rest.remove_prefix(slash + 1);
  }
  std::string out;
  for (const auto& s : segments)
    out.append("/").append(s);
  if (out.empty() || last.empty())
    out += '/';
  return out;
}

}  // namespace medgate::auth
