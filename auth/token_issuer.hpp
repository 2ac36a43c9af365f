// Signs tokens (ES256) with one private key: the portal's short-lived patient tokens and
// the staff and tool tokens `medgate-token` makes.
#pragma once

#include <chrono>
#include <string>

#include "auth/principal.hpp"

namespace medgate::auth {

struct IssuerOptions {
  std::string key_id;       // the `kid` verifiers find the public key by
  std::string private_pem;  // EC P-256 private key
  std::string issuer;       // `iss`
  std::string audience;     // `aud`
};

class TokenIssuer {
 public:
  // Throws std::invalid_argument when the key is not an EC P-256 private key or a field is
  // empty.
  explicit TokenIssuer(IssuerOptions options);

  // A token for `subject` with `roles`, valid from `now` for `ttl` (`iat`, `nbf`, `exp`).
  // Thread-safe. Throws std::runtime_error if signing fails.
  [[nodiscard]] std::string issue(std::string_view subject, RoleSet roles, std::chrono::seconds ttl,
                                  std::chrono::system_clock::time_point now) const;

 private:
  IssuerOptions options_;
};

}  // namespace medgate::auth
