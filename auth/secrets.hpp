// Random secrets, digests and keyed pseudonyms (libsodium).
#pragma once

#include <string>
#include <string_view>

namespace medgate::auth {

// `bytes` random bytes from the OS generator, base64url-encoded.
[[nodiscard]] std::string random_token(size_t bytes = 32);
// SHA-256 of `data`, lower-case hex: how session ids are stored (a leaked table gives no
// usable cookie).
[[nodiscard]] std::string sha256_hex(std::string_view data);
// A keyed hash (BLAKE2b) of `data`, 16 hex characters: the same input and key always give
// the same pseudonym, so logs can be correlated without naming the patient.
[[nodiscard]] std::string pseudonym(std::string_view data, std::string_view key);

}  // namespace medgate::auth
