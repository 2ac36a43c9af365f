// The public keys tokens are verified with, by key id (`kid`). Several keys at once is how
// keys rotate: a new key is added and used for signing, the old one stays until the tokens
// it signed have expired, then it is removed.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace medgate::auth {

class KeySet {
 public:
  // Adds an ECDSA P-256 public key in PEM form. Throws std::invalid_argument when the PEM
  // is not such a key or the kid is empty, too long, or already present.
  void add(std::string kid, std::string public_pem);
  // Adds every `<kid>.pub.pem` in `dir`. Throws std::invalid_argument naming the file when
  // one is not a key, and std::runtime_error when the directory cannot be read.
  void add_dir(const std::string& dir);

  // The PEM for `kid`, or nullptr.
  [[nodiscard]] const std::string* find(std::string_view kid) const;
  [[nodiscard]] size_t size() const { return keys_.size(); }
  [[nodiscard]] bool empty() const { return keys_.empty(); }

 private:
  std::map<std::string, std::string, std::less<>> keys_;
};

// Reads a whole (small) file; throws std::runtime_error naming it when it cannot.
[[nodiscard]] std::string read_key_file(const std::string& path);

// Whether `pem` holds an EC P-256 public key (`private_key` false) or private key (true).
[[nodiscard]] bool is_p256_pem(std::string_view pem, bool private_key);

}  // namespace medgate::auth
