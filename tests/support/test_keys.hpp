// Fresh EC P-256 key pairs for tests (no key material lives in the repository).
#pragma once

#include <string>

namespace medgate::testing {

struct TestKeyPair {
  std::string private_pem;
  std::string public_pem;
};

// A new key pair; throws std::runtime_error if OpenSSL cannot make one.
[[nodiscard]] TestKeyPair make_p256_key_pair();

}  // namespace medgate::testing
