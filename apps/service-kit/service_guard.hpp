// A service's own door, behind medgate's (defence in depth): only canonical paths, and every
// path but the open ones (/health) needs a bearer token that the service's access rules
// allow — medgate forwards its caller's token, staff and tools send theirs. Going around
// medgate is no way in.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apps/service-kit/http_service.hpp"
#include "auth/access_policy.hpp"
#include "auth/auth_config.hpp"
#include "auth/token_verifier.hpp"

namespace medgate::service {

class ServiceGuard {
 public:
  // With `settings.enabled` false, only the canonical-path check applies.
  ServiceGuard(const auth::VerifierSettings& settings, std::vector<auth::AccessRule> rules,
               std::vector<std::string> open_paths = {"/health"});

  // nullopt to go on (the caller's principal in `ctx.principal`), or the refusal to send.
  [[nodiscard]] std::optional<Response> check(const Request& req, std::string_view path,
                                              RequestContext& ctx) const;

 private:
  std::optional<auth::TokenVerifier> verifier_;
  auth::AccessPolicy policy_;
  std::vector<std::string> open_paths_;
};

}  // namespace medgate::service
