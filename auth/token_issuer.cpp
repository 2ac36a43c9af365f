#include "auth/token_issuer.hpp"

#include <memory>
#include <stdexcept>

#include <jwt.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "auth/key_set.hpp"

namespace medgate::auth {

namespace json = boost::json;

TokenIssuer::TokenIssuer(IssuerOptions options) : options_(std::move(options)) {
  if (options_.key_id.empty() || options_.issuer.empty() || options_.audience.empty())
    throw std::invalid_argument("a token issuer needs a key id, an issuer and an audience");
  if (!is_p256_pem(options_.private_pem, true))
    throw std::invalid_argument("the signing key is not an EC P-256 private key in PEM form");
}

std::string TokenIssuer::issue(std::string_view subject, RoleSet roles, std::chrono::seconds ttl,
                               std::chrono::system_clock::time_point now) const {
  const auto secs =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  json::array role_names;
  for (size_t i = 0; i < kRoleCount; ++i)
    if (roles.has(static_cast<Role>(i)))
      role_names.emplace_back(to_string(static_cast<Role>(i)));
  const json::object claims{{"iss", options_.issuer},
                            {"aud", options_.audience},
                            {"sub", subject},
                            {"roles", std::move(role_names)},
                            {"iat", secs},
                            {"nbf", secs},
                            {"exp", secs + ttl.count()}};
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0)
    throw std::runtime_error("jwt_new failed");
  const std::unique_ptr<jwt_t, decltype(&jwt_free)> jwt(raw, &jwt_free);
  const std::string payload = json::serialize(claims);
  if (jwt_add_grants_json(jwt.get(), payload.c_str()) != 0 ||
      jwt_add_header(jwt.get(), "kid", options_.key_id.c_str()) != 0 ||
      jwt_set_alg(jwt.get(), JWT_ALG_ES256,
                  reinterpret_cast<const unsigned char*>(options_.private_pem.data()),
                  static_cast<int>(options_.private_pem.size())) != 0)
    throw std::runtime_error("cannot prepare the token");
  std::unique_ptr<char, decltype(&free)> out(jwt_encode_str(jwt.get()), &free);
  if (!out)
    throw std::runtime_error("signing the token failed");
  return out.get();
}

}  // namespace medgate::auth
