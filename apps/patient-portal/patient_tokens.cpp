#include "apps/patient-portal/patient_tokens.hpp"

namespace medgate::service {

std::string PatientTokens::for_patient(const std::string& rut,
                                       std::chrono::system_clock::time_point now) {
  {
    std::lock_guard lock(mu_);
    if (const auto it = issued_.find(rut); it != issued_.end() && now < it->second.renew_after)
      return it->second.token;
  }
  // Signed outside the lock: two pages of one patient at once may both sign, and the later
  // token is kept; either is valid.
  std::string token = issuer_.issue(rut, {auth::Role::patient}, ttl_, now);
  std::lock_guard lock(mu_);
  if (issued_.size() >= max_patients_)
    issued_.clear();
  issued_.insert_or_assign(rut, Issued{token, now + ttl_ / 2});
  return token;
}

}  // namespace medgate::service
