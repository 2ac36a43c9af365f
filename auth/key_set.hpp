// The public keys tokens are verified with, by key id (`kid`), each bound to what it may
// sign: its grant. A key signs for one issuer and a fixed set of roles; a token outside its
// key's grant is refused however good its signature (the portal's key, which sits on the
// internet-facing host, can sign patient tokens and nothing else).
//
// Several keys at once is how keys rotate: a new key is added with its grant and used for
// signing, the old one stays until the tokens it signed have expired, then it is removed.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "auth/principal.hpp"

namespace medgate::auth {

// What tokens signed by one key may claim.
struct KeyGrant {
  std::string issuer;  // the only `iss` its tokens may carry
  RoleSet roles;       // the roles its tokens may hold (a token may hold fewer)
};

// Throws std::invalid_argument when `grant` cannot be a grant: no issuer, no role, or the
// patient role beside another (a key that signs for patients signs for nothing else, as a
// patient token holds no other role).
void validate_grant(const KeyGrant& grant);

class KeySet {
 public:
  struct Entry {
    std::string public_pem;
    KeyGrant grant;
  };

  // Adds an ECDSA P-256 public key in PEM form with its grant. Throws std::invalid_argument
  // when the PEM is not such a key, the kid is empty, too long or already present, or the
  // grant is invalid (validate_grant).
  void add(std::string kid, std::string public_pem, KeyGrant grant);

  // The key `kid` names, or nullptr.
  [[nodiscard]] const Entry* find(std::string_view kid) const;
  [[nodiscard]] size_t size() const { return keys_.size(); }
  [[nodiscard]] bool empty() const { return keys_.empty(); }

 private:
  std::map<std::string, Entry, std::less<>> keys_;
};

// The public keys of every `<kid>.pub.pem` in `dir`, by kid (grants are configured apart).
// Throws std::invalid_argument naming the file when one is not a P-256 public key, and
// std::runtime_error when the directory cannot be read.
[[nodiscard]] std::map<std::string, std::string> read_key_dir(const std::string& dir);

// Reads a whole (small) file; throws std::runtime_error naming it when it cannot.
[[nodiscard]] std::string read_key_file(const std::string& path);

// Whether `pem` holds an EC P-256 public key (`private_key` false) or private key (true).
[[nodiscard]] bool is_p256_pem(std::string_view pem, bool private_key);

}  // namespace medgate::auth
