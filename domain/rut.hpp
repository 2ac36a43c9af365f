// Chilean RUT (Rol Único Tributario) validation: body digits and a mod-11 check digit.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace medgate::domain {

// Accepts "11111111-1", "11.111.111-1", "7654321-k" (check digit K in either case).
// Returns the canonical form "11111111-1" (no dots, upper-case K) or nullopt.
[[nodiscard]] std::optional<std::string> normalize_rut(std::string_view text);

// The check digit ('0'-'9' or 'K') for the body digits.
[[nodiscard]] char rut_check_digit(std::string_view body_digits);

}  // namespace medgate::domain
