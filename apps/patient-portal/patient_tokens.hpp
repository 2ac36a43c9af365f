// The bearer tokens the portal sends medgate on its patients' behalf, one per patient reused
// while it has more than half its life left: medgate and the services then find it in their
// verified-token caches instead of checking an ECDSA signature on every page (and signing
// one per page costs the portal too). Thread-safe; bounded (when full, it starts over).
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "auth/token_issuer.hpp"

namespace medgate::service {

class PatientTokens {
 public:
  // `issuer` must outlive this. Tokens last `ttl`.
  PatientTokens(const auth::TokenIssuer& issuer, std::chrono::seconds ttl,
                size_t max_patients = 100'000)
      : issuer_(issuer), ttl_(ttl), max_patients_(max_patients) {}

  // A patient-role token for `rut`, valid for at least ttl/2 after `now`.
  [[nodiscard]] std::string for_patient(const std::string& rut,
                                        std::chrono::system_clock::time_point now);

 private:
  struct Issued {
    std::string token;
    std::chrono::system_clock::time_point renew_after;
  };
  const auth::TokenIssuer& issuer_;
  const std::chrono::seconds ttl_;
  const size_t max_patients_;
  std::mutex mu_;
  std::unordered_map<std::string, Issued> issued_;
};

}  // namespace medgate::service
