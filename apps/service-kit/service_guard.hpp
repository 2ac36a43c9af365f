// A service's own door, behind medgate's (defence in depth): only canonical paths, and every
// path but the open ones (/health) needs a bearer token that the service's access rules
// allow — medgate forwards its caller's token, staff and tools send theirs. Going around
// medgate is no way in.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apps/service-kit/http_service.hpp"
#include "auth/access_policy.hpp"
#include "auth/audit_log.hpp"
#include "auth/auth_config.hpp"
#include "auth/token_cache.hpp"
#include "auth/token_verifier.hpp"

namespace medgate::service {

// What the guard decided about one request: for its audit line, written once the status is
// known, and for the request log (why a token was refused).
struct GuardDecision {
  bool audit = false;   // a rule that audits decided
  bool denied = false;  // refused (401/403)
  std::string subject;
  auth::RoleSet roles;
  std::string patient;        // canonical RUT from the path or the body; empty: none
  std::string token_refused;  // TokenRefusal::reason of a presented token
};

class ServiceGuard {
 public:
  // With `settings.enabled` false, only the canonical-path check applies. `audit` (may be
  // null) receives a line for every call a rule audits, as `component`.
  ServiceGuard(const auth::VerifierSettings& settings, std::vector<auth::AccessRule> rules,
               std::vector<std::string> open_paths = {"/health"},
               std::shared_ptr<auth::AuditLog> audit = nullptr, std::string component = {});

  // nullopt to go on (the caller's principal in `ctx.principal`), or the refusal to send.
  // `decision` says what was decided.
  [[nodiscard]] std::optional<Response> check(const Request& req, std::string_view path,
                                              RequestContext& ctx, GuardDecision& decision) const;

  // The audit line of a decided request, when its rule audits and there is an audit log.
  void audit(const GuardDecision& decision, std::string_view request_id, std::string_view method,
             std::string_view route, std::string_view path, unsigned status) const;

 private:
  std::optional<auth::TokenVerifier> verifier_;
  // Tokens already verified (auth/token_cache.hpp): a caller's repeated token costs a lookup,
  // not an ECDSA verification. Shared by the service's threads.
  mutable std::mutex cache_mu_;
  mutable auth::VerifiedTokenCache cache_;
  auth::AccessPolicy policy_;
  std::vector<std::string> open_paths_;
  std::shared_ptr<auth::AuditLog> audit_;
  std::string component_;
};

}  // namespace medgate::service
