#include "gateway/portal/hospital_rules.hpp"

#include "auth/redact.hpp"

namespace medgate::gateway {

bool staff_reads_operator_views(const auth::Principal& who) {
  return !who.roles.has(auth::Role::patient);
}

std::string redact_patients(std::string_view text, std::string_view key) {
  return auth::redact_ruts(text, key);
}

}  // namespace medgate::gateway
