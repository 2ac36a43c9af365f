// Bearer-token verification: JWTs signed with ES256 (ECDSA P-256, SHA-256), the only
// algorithm accepted — a token naming another (`none`, `HS256` with a public key as its
// secret) is refused before any signature check. The signature is checked by libjwt with
// the key its `kid` names; then `iss` must be that key's granted issuer and every role the
// token holds one its key may sign (KeyGrant), then `aud`, `exp` and `nbf` (with a small
// leeway for clock skew) and `sub`.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "auth/key_set.hpp"
#include "auth/principal.hpp"

namespace medgate::auth {

struct VerifierOptions {
  std::string audience;  // must appear in `aud` (accepted issuers come with each key's grant)
  std::chrono::seconds leeway{30};
  size_t max_token_bytes = 8 * 1024;
};

// Why a token was refused: a short reason for logs and the WWW-Authenticate description.
// It never echoes the token.
struct TokenRefusal {
  std::string reason;
};

class TokenVerifier {
 public:
  // Throws std::invalid_argument when `keys` is empty or the options are incomplete.
  TokenVerifier(KeySet keys, VerifierOptions options);

  // Safe to call from several threads at once.
  [[nodiscard]] std::variant<Principal, TokenRefusal> verify(
      std::string_view token, std::chrono::system_clock::time_point now) const;

  [[nodiscard]] const VerifierOptions& options() const { return options_; }

 private:
  KeySet keys_;
  VerifierOptions options_;
};

// The token in `Authorization: Bearer <token>`; empty when the header is another scheme.
[[nodiscard]] std::string_view bearer_token(std::string_view authorization);

}  // namespace medgate::auth
