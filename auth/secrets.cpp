#include "auth/secrets.hpp"

#include <stdexcept>
#include <vector>

#include <sodium.h>

#include "auth/base64url.hpp"

namespace medgate::auth {

namespace {

void ensure_sodium() {
  // Thread-safe and idempotent.
  if (sodium_init() < 0)
    throw std::runtime_error("libsodium failed to initialise");
}

std::string hex(const unsigned char* bytes, size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes, n);
  out.resize(n * 2);
  return out;
}

}  // namespace

std::string random_token(size_t bytes) {
  ensure_sodium();
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  return base64url_encode(raw);
}

std::string sha256_hex(std::string_view data) {
  ensure_sodium();
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return hex(out, sizeof out);
}

std::string pseudonym(std::string_view data, std::string_view key) {
  ensure_sodium();
  unsigned char out[8];
  // BLAKE2b accepts keys of 16..64 bytes: a shorter key is hashed to 32 bytes first.
  unsigned char k[crypto_generichash_KEYBYTES];
  crypto_generichash(k, sizeof k, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                     nullptr, 0);
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size(), k, sizeof k);
  return hex(out, sizeof out);
}

}  // namespace medgate::auth
