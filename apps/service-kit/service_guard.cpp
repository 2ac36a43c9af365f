#include "apps/service-kit/service_guard.hpp"

#include <algorithm>

#include "auth/canonical_path.hpp"

namespace medgate::service {

ServiceGuard::ServiceGuard(const auth::VerifierSettings& settings,
                           std::vector<auth::AccessRule> rules, std::vector<std::string> open_paths,
                           std::shared_ptr<auth::AuditLog> audit, std::string component)
    : policy_(std::move(rules)),
      open_paths_(std::move(open_paths)),
      audit_(std::move(audit)),
      component_(std::move(component)) {
  if (settings.enabled)
    verifier_.emplace(settings.keys, settings.options);
}

std::optional<Response> ServiceGuard::check(const Request& req, std::string_view path,
                                            RequestContext& ctx, GuardDecision& decision) const {
  // One spelling per path: what medgate authorized is what is served here.
  if (auth::may_need_canonicalizing(path) && auth::canonical_path(path) != path)
    return error_reply(req, 400, "invalid_path", "the path is not in its canonical form");
  if (!verifier_ || std::find(open_paths_.begin(), open_paths_.end(), path) != open_paths_.end())
    return std::nullopt;
  std::string problem;
  if (const auto it = req.find(http::field::authorization); it != req.end()) {
    const auto token = auth::bearer_token(it->value());
    const auto now = std::chrono::system_clock::now();
    {
      std::lock_guard lock(cache_mu_);
      if (const auth::Principal* known = token.empty() ? nullptr : cache_.find(token, now))
        ctx.principal = *known;
    }
    if (!ctx.principal) {
      auto r = verifier_->verify(token, now);
      if (auto* p = std::get_if<auth::Principal>(&r)) {
        std::lock_guard lock(cache_mu_);
        cache_.put(token, *p, now, verifier_->options().leeway);
        ctx.principal = std::move(*p);
      } else {
        problem = std::get<auth::TokenRefusal>(r).reason;
      }
    }
  }
  const auto d =
      policy_.decide(req.method_string(), path, ctx.principal ? &*ctx.principal : nullptr);
  decision.token_refused = problem;
  if (ctx.principal) {
    decision.subject = ctx.principal->subject;
    decision.roles = ctx.principal->roles;
  }
  decision.patient = d.patient;
  if (d.rule >= 0) {
    const auth::AccessRule& rule = policy_.rules()[static_cast<size_t>(d.rule)];
    decision.audit = rule.audit;
    if (decision.patient.empty() && !rule.patient_field.empty())
      decision.patient = auth::patient_in_body(req.body(), rule.patient_field);
  }
  using V = auth::AccessDecision::Verdict;
  if (d.verdict == V::allow)
    return std::nullopt;
  decision.denied = true;
  if (d.verdict == V::unauthenticated) {
    auto res = error_reply(req, 401, "unauthorized",
                           problem.empty() ? d.reason : "invalid token: " + problem);
    res.set(http::field::www_authenticate,
            problem.empty() ? "Bearer realm=\"medgate\""
                            : "Bearer realm=\"medgate\", error=\"invalid_token\"");
    return res;
  }
  return error_reply(req, 403, "forbidden", d.reason);
}

void ServiceGuard::audit(const GuardDecision& decision, std::string_view request_id,
                         std::string_view method, std::string_view route, std::string_view path,
                         unsigned status) const {
  if (!audit_ || !decision.audit)
    return;
  audit_->record({.component = component_,
                  .request_id = request_id,
                  .subject = decision.subject,
                  .roles = decision.roles,
                  .patient = decision.patient,
                  .method = method,
                  .route = route,
                  .path = path,
                  .denied = decision.denied,
                  .status = status});
}

}  // namespace medgate::service
