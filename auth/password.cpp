#include "auth/password.hpp"

#include <stdexcept>

#include <sodium.h>

namespace medgate::auth {

namespace {

void ensure_sodium() {
  if (sodium_init() < 0)
    throw std::runtime_error("libsodium failed to initialise");
}

constexpr auto kOps = crypto_pwhash_OPSLIMIT_INTERACTIVE;
constexpr auto kMem = crypto_pwhash_MEMLIMIT_INTERACTIVE;

}  // namespace

std::string hash_password(std::string_view password) {
  ensure_sodium();
  if (password.empty() || password.size() > kMaxPasswordBytes)
    throw std::invalid_argument("a password must have 1 to 256 bytes");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), kOps, kMem,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw std::runtime_error("out of memory while hashing a password");
  return out;
}

bool verify_password(std::string_view stored, std::string_view password) {
  ensure_sodium();
  if (password.empty() || password.size() > kMaxPasswordBytes ||
      stored.size() >= crypto_pwhash_STRBYTES || !stored.starts_with("$argon2id$"))
    return false;
  const std::string z(stored);  // NUL-terminated
  return crypto_pwhash_str_verify(z.c_str(), password.data(), password.size()) == 0;
}

void burn_password_check(std::string_view password) {
  static const std::string kDummy = hash_password("medgate-no-such-account");
  (void)verify_password(kDummy, password.empty() ? std::string_view("x") : password);
}

}  // namespace medgate::auth
