// medgate's door: the caller's bearer token verified, the access rules applied to the
// request's canonical path, and a 401/403 that says why when they refuse. Built once from
// the configuration; safe to use from every gateway thread.
#pragma once

#include <chrono>
#include <optional>

#include "auth/access_policy.hpp"
#include "auth/token_cache.hpp"
#include "auth/token_verifier.hpp"
#include "clients/wire_message.hpp"
#include "gateway/gateway_config.hpp"
#include "gateway/upstream_call.hpp"

namespace medgate::gateway {

class AccessGuard {
 public:
  explicit AccessGuard(const AuthConfig& cfg);

  [[nodiscard]] bool enabled() const { return verifier_.has_value(); }

  // Decides on `req` whose canonical path is `info.path`, filling `info`'s subject, roles,
  // patient and audit flag. Returns the refusal to answer with, or nullopt to go on.
  // With auth disabled every call goes on.
  // `cache` (the calling thread's, may be null) spares re-verifying a token.
  [[nodiscard]] std::optional<clients::WireResponse> check(
      const clients::WireRequest& req, RequestInfo& info,
      auth::VerifiedTokenCache* cache = nullptr) const;

  // The caller's verified principal, if its token is valid (for the operator endpoints).
  [[nodiscard]] std::optional<auth::Principal> principal(const clients::WireRequest& req) const;

 private:
  std::optional<auth::TokenVerifier> verifier_;
  auth::AccessPolicy policy_;
};

}  // namespace medgate::gateway
