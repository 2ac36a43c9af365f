#include "auth/token_verifier.hpp"

#include <memory>
#include <stdexcept>

#include <jwt.h>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "auth/base64url.hpp"
#include "domain/rut.hpp"

namespace medgate::auth {

namespace json = boost::json;
using std::chrono::system_clock;

namespace {

constexpr std::string_view kAlgorithm = "ES256";

std::optional<json::object> decode_part(std::string_view part) {
  const auto bytes = base64url_decode(part);
  if (!bytes)
    return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(*bytes, ec);
  if (ec || !v.is_object())
    return std::nullopt;
  return std::move(v.as_object());
}

std::optional<std::string_view> string_claim(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (!v || !v->is_string())
    return std::nullopt;
  return std::string_view(v->as_string());
}

// A NumericDate (seconds since the epoch), as an integer or a number.
std::optional<system_clock::time_point> time_claim(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (!v)
    return std::nullopt;
  double secs = 0;
  if (v->is_int64())
    secs = static_cast<double>(v->as_int64());
  else if (v->is_uint64())
    secs = static_cast<double>(v->as_uint64());
  else if (v->is_double())
    secs = v->as_double();
  else
    return std::nullopt;
  if (secs < 0 || secs > 1e11)
    return std::nullopt;
  return system_clock::time_point(std::chrono::seconds(static_cast<int64_t>(secs)));
}

bool audience_matches(const json::value* aud, std::string_view want) {
  if (!aud)
    return false;
  if (aud->is_string())
    return aud->as_string() == want;
  if (!aud->is_array())
    return false;
  for (const auto& a : aud->as_array())
    if (a.is_string() && a.as_string() == want)
      return true;
  return false;
}

// Verifies the signature with libjwt; true when it holds and libjwt agrees on the algorithm.
bool signature_holds(std::string_view token, const std::string& pem) {
  const std::string copy(token);  // libjwt wants a NUL-terminated string
  jwt_t* raw = nullptr;
  const int rc = jwt_decode(&raw, copy.c_str(), reinterpret_cast<const unsigned char*>(pem.data()),
                            static_cast<int>(pem.size()));
  const std::unique_ptr<jwt_t, decltype(&jwt_free)> jwt(raw, &jwt_free);
  return rc == 0 && jwt && jwt_get_alg(jwt.get()) == JWT_ALG_ES256;
}

}  // namespace

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size())
    return {};
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i])
      return {};
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ')
    token.remove_suffix(1);
  return token;
}

TokenVerifier::TokenVerifier(KeySet keys, VerifierOptions options)
    : keys_(std::move(keys)), options_(std::move(options)) {
  if (keys_.empty())
    throw std::invalid_argument("no verification keys");
  if (options_.audience.empty())
    throw std::invalid_argument("an audience is required");
}

std::variant<Principal, TokenRefusal> TokenVerifier::verify(std::string_view token,
                                                            system_clock::time_point now) const {
  auto refuse = [](std::string reason) { return TokenRefusal{std::move(reason)}; };
  if (token.empty())
    return refuse("no token");
  if (token.size() > options_.max_token_bytes)
    return refuse("token too long");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos ||
      dot2 + 1 == token.size())
    return refuse("malformed token");
  const auto header = decode_part(token.substr(0, dot1));
  if (!header)
    return refuse("malformed token header");
  if (string_claim(*header, "alg") != kAlgorithm)
    return refuse("algorithm not accepted");
  const auto kid = string_claim(*header, "kid");
  if (!kid)
    return refuse("token names no key");
  const KeySet::Entry* key = keys_.find(*kid);
  if (!key)
    return refuse("unknown key");
  if (!signature_holds(token, key->public_pem))
    return refuse("bad signature");

  const auto claims = decode_part(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!claims)
    return refuse("malformed token claims");
  const auto iss = string_claim(*claims, "iss");
  if (!iss || *iss != key->grant.issuer)
    return refuse("issuer not granted to key " + std::string(*kid));
  if (!audience_matches(claims->if_contains("aud"), options_.audience))
    return refuse("wrong audience");
  const auto exp = time_claim(*claims, "exp");
  if (!exp)
    return refuse("token has no expiry");
  if (now >= *exp + options_.leeway)
    return refuse("token expired");
  if (claims->contains("nbf")) {
    const auto nbf = time_claim(*claims, "nbf");
    if (!nbf || now + options_.leeway < *nbf)
      return refuse("token not valid yet");
  }
  const auto sub = string_claim(*claims, "sub");
  if (!sub || sub->empty() || sub->size() > 128)
    return refuse("token has no subject");

  Principal p;
  p.subject = std::string(*sub);
  const auto* roles = claims->if_contains("roles");
  if (!roles || !roles->is_array())
    return refuse("token has no roles");
  for (const auto& r : roles->as_array()) {
    if (!r.is_string())
      return refuse("malformed roles");
    if (const auto role = parse_role(r.as_string())) {
      // A role the key may not sign is a forgery by whoever holds that key: the whole token
      // is refused, not trimmed to the grant.
      if (!key->grant.roles.has(*role))
        return refuse("role " + std::string(to_string(*role)) + " not granted to key " +
                      std::string(*kid));
      p.roles.add(*role);
    }  // unknown roles grant nothing
  }
  if (p.roles.empty())
    return refuse("token has no known role");
  if (p.roles.has(Role::patient)) {
    // A patient's token is that patient's only: no staff role beside it, and its subject is
    // the canonical RUT the access rules compare with.
    if (p.roles != RoleSet{Role::patient})
      return refuse("a patient token holds only the patient role");
    if (domain::normalize_rut(p.subject) != p.subject)
      return refuse("a patient token's subject must be a canonical RUT");
  }
  p.issuer = std::string(*iss);
  p.key_id = std::string(*kid);
  p.expires = *exp;
  return p;
}

}  // namespace medgate::auth
