#include "auth/principal.hpp"

#include <array>

namespace medgate::auth {

namespace {
constexpr std::array<std::string_view, kRoleCount> kNames = {
    "patient", "doctor", "nurse", "administrative", "accountant", "service"};
}

std::string_view to_string(Role r) {
  return kNames[static_cast<size_t>(r)];
}

std::optional<Role> parse_role(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name)
      return static_cast<Role>(i);
  return std::nullopt;
}

std::string RoleSet::str() const {
  std::string out;
  for (size_t i = 0; i < kRoleCount; ++i) {
    if (!has(static_cast<Role>(i)))
      continue;
    if (!out.empty())
      out += ',';
    out += kNames[i];
  }
  return out;
}

}  // namespace medgate::auth
