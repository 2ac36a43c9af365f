#include "http/request_id.hpp"

#include <cctype>

namespace medgate::httpd {

bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128)
    return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  return true;
}

void make_request_id(std::mt19937_64& rng, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.resize(32);
  char* p = out.data();
  for (uint64_t bits : {rng(), rng()}) {
    for (int i = 0; i < 16; ++i, bits >>= 4)
      *p++ = kHex[bits & 0xf];
  }
}

std::string make_request_id(std::mt19937_64& rng) {
  std::string id;
  make_request_id(rng, id);
  return id;
}

}  // namespace medgate::httpd
