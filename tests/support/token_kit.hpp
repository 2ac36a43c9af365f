// Signing keys and tokens for tests that run medgate or the services with auth on. Like the
// real deployment it has two keys, each granted only its own job: a staff key (`kid`, every
// staff and tool role) and a patient key (`kid` + "-patients", the portal's, role patient
// only). token() signs with whichever key may sign the roles asked for; the public halves
// are written to `<dir>/public-keys/<kid>.pub.pem`.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "auth/token_issuer.hpp"
#include "tests/support/test_keys.hpp"

namespace medgate::testing {

class TokenKit {
 public:
  explicit TokenKit(const std::string& dir, std::string issuer = "medgate-test",
                    std::string audience = "medgate", std::string kid = "test-1")
      : key_dir_(dir + "/public-keys"),
        issuer_name_(issuer),
        audience_(audience),
        staff_kid_(kid),
        patient_kid_(kid + "-patients"),
        staff_pair_(make_p256_key_pair()),
        patient_pair_(make_p256_key_pair()),
        staff_issuer_({.key_id = staff_kid_,
                       .private_pem = staff_pair_.private_pem,
                       .issuer = issuer,
                       .audience = audience}),
        patient_issuer_({.key_id = patient_kid_,
                         .private_pem = patient_pair_.private_pem,
                         .issuer = std::move(issuer),
                         .audience = std::move(audience)}) {
    std::filesystem::create_directories(key_dir_);
    std::ofstream(key_dir_ + "/" + staff_kid_ + ".pub.pem") << staff_pair_.public_pem;
    std::ofstream(key_dir_ + "/" + patient_kid_ + ".pub.pem") << patient_pair_.public_pem;
  }

  // Signed by the key whose grant covers `roles` (the patient key for patient tokens).
  [[nodiscard]] std::string token(const std::string& subject, auth::RoleSet roles,
                                  std::chrono::seconds ttl = std::chrono::minutes(5)) const {
    const auth::TokenIssuer& by = roles.has(auth::Role::patient) ? patient_issuer_ : staff_issuer_;
    return by.issue(subject, roles, ttl, std::chrono::system_clock::now());
  }
  [[nodiscard]] std::string bearer(const std::string& subject, auth::RoleSet roles) const {
    return "Bearer " + token(subject, roles);
  }
  // A token signed by the patient key whatever `roles` asks for: what a thief of the portal's
  // key would make.
  [[nodiscard]] std::string patient_key_token(const std::string& subject,
                                              auth::RoleSet roles) const {
    return patient_issuer_.issue(subject, roles, std::chrono::minutes(5),
                                 std::chrono::system_clock::now());
  }
  // The `auth:` keys a component needs to verify this kit's tokens (without `rules`).
  [[nodiscard]] std::string verifier_yaml() const {
    return "  audience: " + audience_ + "\n  key_dir: " + key_dir_ +
           "\n  grants:\n    - { kid: " + staff_kid_ + ", issuer: " + issuer_name_ +
           ", roles: [doctor, nurse, administrative, accountant, service] }\n    - { kid: " +
           patient_kid_ + ", issuer: " + issuer_name_ + ", roles: [patient] }\n";
  }
  [[nodiscard]] const std::string& key_dir() const { return key_dir_; }
  [[nodiscard]] const std::string& issuer_name() const { return issuer_name_; }
  [[nodiscard]] const std::string& patient_kid() const { return patient_kid_; }
  // The patient key (the one a portal under test signs with).
  [[nodiscard]] const TestKeyPair& patient_keys() const { return patient_pair_; }

 private:
  std::string key_dir_;
  std::string issuer_name_;
  std::string audience_;
  std::string staff_kid_;
  std::string patient_kid_;
  TestKeyPair staff_pair_;
  TestKeyPair patient_pair_;
  auth::TokenIssuer staff_issuer_;
  auth::TokenIssuer patient_issuer_;
};

}  // namespace medgate::testing
