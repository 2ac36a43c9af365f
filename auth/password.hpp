// Password storage: Argon2id through libsodium's crypto_pwhash_str (salt and parameters are
// inside the stored string). Hashing takes ~0.1 s and 64 MiB on purpose: never call these on
// an event-loop thread.
#pragma once

#include <string>
#include <string_view>

namespace medgate::auth {

inline constexpr size_t kMaxPasswordBytes = 256;

// Throws std::runtime_error when out of memory, std::invalid_argument when the password is
// empty or longer than kMaxPasswordBytes.
[[nodiscard]] std::string hash_password(std::string_view password);

// Whether `password` matches `stored`. A malformed `stored` never matches.
[[nodiscard]] bool verify_password(std::string_view stored, std::string_view password);

// Runs a verification against a fixed hash, so that a sign-in for an unknown account costs
// what one for a known account costs (the answer must not tell them apart).
void burn_password_check(std::string_view password);

}  // namespace medgate::auth
