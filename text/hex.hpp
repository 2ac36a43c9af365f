// The value of one hexadecimal digit (percent-encodings in paths, queries and logs).
#pragma once

namespace medgate::text {

// 0..15, or -1 when `c` is not a hexadecimal digit.
[[nodiscard]] constexpr int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

}  // namespace medgate::text
