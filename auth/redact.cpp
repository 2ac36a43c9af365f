#include "auth/redact.hpp"

#include "auth/secrets.hpp"
#include "domain/rut.hpp"
#include "text/hex.hpp"

namespace medgate::auth {

namespace {

// One pass of percent-decoding; a '%' not followed by two hex digits stays as it is.
// Returns whether anything was decoded.
bool decode_once(std::string& s) {
  std::string out;
  out.reserve(s.size());
  bool changed = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = text::hex_digit(s[i + 1]);
      const int lo = text::hex_digit(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        changed = true;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  s = std::move(out);
  return changed;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_check(char c) {
  return is_digit(c) || c == 'k' || c == 'K';
}

}  // namespace

std::string redact_ruts(std::string_view text, std::string_view key) {
  std::string s(text);
  for (int pass = 0; pass < 3 && s.find('%') != std::string::npos; ++pass)
    if (!decode_once(s))
      break;
  std::string out;
  out.reserve(s.size() + 16);
  size_t copied = 0;  // s[0, copied) is in `out`
  // Each '-' followed by one check character that ends the run of RUT characters is where a
  // RUT may end; its body is the digits and dots right before it.
  for (size_t d = 1; d + 1 < s.size(); ++d) {
    if (s[d] != '-' || !is_check(s[d + 1]))
      continue;
    if (d + 2 < s.size() && is_check(s[d + 2]))
      continue;  // "-12": not a single check character
    size_t begin = d;
    size_t digits = 0;
    while (begin > copied && (is_digit(s[begin - 1]) || s[begin - 1] == '.') && d - begin < 12) {
      --begin;
      digits += is_digit(s[begin]) ? 1 : 0;
    }
    while (begin < d && s[begin] == '.')
      ++begin;
    if (digits == 0)
      continue;
    const auto rut = domain::normalize_rut(std::string_view(s).substr(begin, d + 2 - begin));
    if (!rut)
      continue;
    out.append(s, copied, begin - copied);
    out.append("rut~").append(pseudonym(*rut, key));
    copied = d + 2;
    d = d + 1;
  }
  out.append(s, copied, std::string::npos);
  return out;
}

}  // namespace medgate::auth
