// Who is calling: the verified subject of a token and the roles it holds.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace medgate::auth {

// The hospital's roles. Patients reach only their own records; staff reach what their
// role's rules allow; `service` is a tool or a component calling on its own behalf.
enum class Role : uint8_t { patient, doctor, nurse, administrative, accountant, service };
inline constexpr size_t kRoleCount = 6;

[[nodiscard]] std::string_view to_string(Role r);
[[nodiscard]] std::optional<Role> parse_role(std::string_view name);

// A small set of roles (a bit mask).
class RoleSet {
 public:
  constexpr RoleSet() = default;
  constexpr RoleSet(std::initializer_list<Role> roles) {
    for (Role r : roles)
      add(r);
  }
  constexpr void add(Role r) { bits_ |= bit(r); }
  [[nodiscard]] constexpr bool has(Role r) const { return (bits_ & bit(r)) != 0; }
  [[nodiscard]] constexpr bool intersects(RoleSet o) const { return (bits_ & o.bits_) != 0; }
  [[nodiscard]] constexpr bool empty() const { return bits_ == 0; }
  [[nodiscard]] constexpr bool operator==(const RoleSet&) const = default;
  // "doctor,nurse" in enum order; "" when empty.
  [[nodiscard]] std::string str() const;

 private:
  static constexpr uint8_t bit(Role r) {
    return static_cast<uint8_t>(1U << static_cast<unsigned>(r));
  }
  uint8_t bits_ = 0;
};

struct Principal {
  std::string subject;  // a patient's canonical RUT, or a staff member's or tool's id
  RoleSet roles;
  std::string issuer;
  std::string key_id;
  std::chrono::system_clock::time_point expires;
};

}  // namespace medgate::auth
