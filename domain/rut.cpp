#include "domain/rut.hpp"

#include <cctype>

namespace medgate::domain {

char rut_check_digit(std::string_view body) {
  int sum = 0;
  int weight = 2;
  for (auto it = body.rbegin(); it != body.rend(); ++it) {
    sum += (*it - '0') * weight;
    weight = weight == 7 ? 2 : weight + 1;
  }
  const int r = 11 - (sum % 11);
  if (r == 11)
    return '0';
  if (r == 10)
    return 'K';
  return static_cast<char>('0' + r);
}

std::optional<std::string> normalize_rut(std::string_view text) {
  if (text.size() < 3 || text.size() > 12)
    return std::nullopt;
  const size_t dash = text.rfind('-');
  if (dash == std::string_view::npos || dash + 2 != text.size())
    return std::nullopt;
  std::string body;
  for (size_t i = 0; i < dash; ++i) {
    const char c = text[i];
    if (c == '.')
      continue;
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return std::nullopt;
    body += c;
  }
  if (body.empty() || body.size() > 8 || body.front() == '0')
    return std::nullopt;
  const char given = static_cast<char>(std::toupper(static_cast<unsigned char>(text[dash + 1])));
  if (given != rut_check_digit(body))
    return std::nullopt;
  return body + "-" + given;
}

}  // namespace medgate::domain
