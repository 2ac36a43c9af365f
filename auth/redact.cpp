#include "auth/redact.hpp"

#include "auth/secrets.hpp"
#include "domain/rut.hpp"

namespace medgate::auth {

namespace {

// Cheap pre-check before the check digit: only RUT characters, two digits at least.
bool looks_like_rut(std::string_view s) {
  if (s.size() < 3 || s.size() > 16)
    return false;
  size_t digits = 0;
  for (const char c : s) {
    if (c >= '0' && c <= '9')
      ++digits;
    else if (c != '.' && c != '-' && c != 'k' && c != 'K')
      return false;
  }
  return digits >= 2;
}

}  // namespace

std::string redact_ruts(std::string_view target, std::string_view key) {
  std::string out;
  out.reserve(target.size() + 16);
  size_t start = 0;
  // Tokens are separated by '/', '?', '&' and '='; a token that is a RUT is replaced.
  for (size_t i = 0; i <= target.size(); ++i) {
    const bool sep = i == target.size() || target[i] == '/' || target[i] == '?' ||
                     target[i] == '&' || target[i] == '=';
    if (!sep)
      continue;
    const std::string_view token = target.substr(start, i - start);
    std::optional<std::string> rut;
    if (looks_like_rut(token))
      rut = domain::normalize_rut(token);
    if (rut)
      out.append("rut~").append(pseudonym(*rut, key));
    else
      out.append(token);
    if (i < target.size())
      out.push_back(target[i]);
    start = i + 1;
  }
  return out;
}

}  // namespace medgate::auth
