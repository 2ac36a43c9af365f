// Bearer tokens and cookies from a client: the verifier refuses anything not signed by its
// key (a forged token accepted aborts), without crashing; the cookie parser on any header.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "auth/cookie.hpp"
#include "auth/token_verifier.hpp"

namespace {

std::string public_key_pem() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_PUBKEY(bio.get(), key.get());
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, static_cast<size_t>(n));
}

const medgate::auth::TokenVerifier& verifier() {
  static const medgate::auth::TokenVerifier v = [] {
    medgate::auth::KeySet keys;
    // Their private halves are thrown away: nothing may verify.
    keys.add("k1", public_key_pem(), {.issuer = "fuzz", .roles = {medgate::auth::Role::doctor}});
    keys.add("p1", public_key_pem(), {.issuer = "fuzz", .roles = {medgate::auth::Role::patient}});
    return medgate::auth::TokenVerifier(std::move(keys), {.audience = "medgate"});
  }();
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto r =
      verifier().verify(medgate::auth::bearer_token(text), std::chrono::system_clock::now());
  if (std::holds_alternative<medgate::auth::Principal>(r))
    std::abort();
  (void)verifier().verify(text, std::chrono::system_clock::now());
  (void)medgate::auth::cookie_value(text, "medgate_session");
  return 0;
}
