#include "clients/request_id.hpp"

#include <cctype>

namespace medgate::clients {

bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128)
    return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  return true;
}

std::string make_request_id(std::mt19937_64& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  const uint64_t a = rng();
  const uint64_t b = rng();
  for (int i = 0; i < 16; ++i) {
    id[static_cast<size_t>(i)] = kHex[(a >> (i * 4)) & 0xf];
    id[static_cast<size_t>(16 + i)] = kHex[(b >> (i * 4)) & 0xf];
  }
  return id;
}

}  // namespace medgate::clients
