// Signing keys and tokens for tests that run medgate or the services with auth on: a fresh
// key pair whose public half is written to `<dir>/public-keys/<kid>.pub.pem`.
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
        pair_(make_p256_key_pair()),
        issuer_({.key_id = kid,
                 .private_pem = pair_.private_pem,
                 .issuer = std::move(issuer),
                 .audience = std::move(audience)}) {
    std::filesystem::create_directories(key_dir_);
    std::ofstream(key_dir_ + "/" + kid + ".pub.pem") << pair_.public_pem;
  }

  [[nodiscard]] std::string token(const std::string& subject, auth::RoleSet roles,
                                  std::chrono::seconds ttl = std::chrono::minutes(5)) const {
    return issuer_.issue(subject, roles, ttl, std::chrono::system_clock::now());
  }
  [[nodiscard]] std::string bearer(const std::string& subject, auth::RoleSet roles) const {
    return "Bearer " + token(subject, roles);
  }
  // The `auth:` keys a component needs to verify this kit's tokens (without `rules`).
  [[nodiscard]] std::string verifier_yaml() const {
    return "  issuers: [ " + issuer_name_ + " ]\n  audience: " + audience_ +
           "\n  key_dir: " + key_dir_ + "\n";
  }
  [[nodiscard]] const std::string& key_dir() const { return key_dir_; }
  [[nodiscard]] const TestKeyPair& keys() const { return pair_; }

 private:
  std::string key_dir_;
  std::string issuer_name_;
  std::string audience_;
  TestKeyPair pair_;
  auth::TokenIssuer issuer_;
};

}  // namespace medgate::testing
