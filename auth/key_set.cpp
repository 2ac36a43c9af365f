#include "auth/key_set.hpp"

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

namespace medgate::auth {

namespace fs = std::filesystem;

bool is_p256_pem(std::string_view pem, bool private_key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio)
    return false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      private_key ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                  : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr),
      &EVP_PKEY_free);
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC)
    return false;
  char group[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key.get(), "group", group, sizeof group, &len) != 1)
    return false;
  return std::string_view(group, len) == "prime256v1" || std::string_view(group, len) == "P-256";
}

std::string read_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read key file " + path);
  std::ostringstream s;
  s << in.rdbuf();
  if (s.str().size() > 64 * 1024)
    throw std::runtime_error("key file " + path + " is larger than 64 KiB");
  return s.str();
}

void validate_grant(const KeyGrant& grant) {
  if (grant.issuer.empty())
    throw std::invalid_argument("a key's grant needs an issuer");
  if (grant.roles.empty())
    throw std::invalid_argument("a key's grant needs at least one role");
  if (grant.roles.has(Role::patient) && grant.roles != RoleSet{Role::patient})
    throw std::invalid_argument(
        "a key that signs patient tokens signs nothing else (roles: [patient] alone)");
}

void KeySet::add(std::string kid, std::string public_pem, KeyGrant grant) {
  if (kid.empty() || kid.size() > 64)
    throw std::invalid_argument("a key id must have 1 to 64 characters");
  if (!is_p256_pem(public_pem, false))
    throw std::invalid_argument("key '" + kid + "' is not an EC P-256 public key in PEM form");
  validate_grant(grant);
  if (!keys_.emplace(std::move(kid), Entry{std::move(public_pem), std::move(grant)}).second)
    throw std::invalid_argument("key id given twice");
}

std::map<std::string, std::string> read_key_dir(const std::string& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec)
    throw std::runtime_error("cannot read key directory " + dir + ": " + ec.message());
  constexpr std::string_view kSuffix = ".pub.pem";
  std::map<std::string, std::string> out;
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.size() <= kSuffix.size() || !name.ends_with(kSuffix))
      continue;
    std::string pem = read_key_file(entry.path().string());
    if (!is_p256_pem(pem, false))
      throw std::invalid_argument(entry.path().string() +
                                  ": not an EC P-256 public key in PEM form");
    out.emplace(name.substr(0, name.size() - kSuffix.size()), std::move(pem));
  }
  return out;
}

const KeySet::Entry* KeySet::find(std::string_view kid) const {
  const auto it = keys_.find(kid);
  return it == keys_.end() ? nullptr : &it->second;
}

}  // namespace medgate::auth
