#include "apps/service-kit/service_guard.hpp"

#include <algorithm>

#include "auth/canonical_path.hpp"

namespace medgate::service {

ServiceGuard::ServiceGuard(const auth::VerifierSettings& settings,
                           std::vector<auth::AccessRule> rules, std::vector<std::string> open_paths)
    : policy_(std::move(rules)), open_paths_(std::move(open_paths)) {
  if (settings.enabled)
    verifier_.emplace(settings.keys, settings.options);
}

std::optional<Response> ServiceGuard::check(const Request& req, std::string_view path,
                                            RequestContext& ctx) const {
  // One spelling per path: what medgate authorized is what is served here.
  if (auth::may_need_canonicalizing(path) && auth::canonical_path(path) != path)
    return error_reply(req, 400, "invalid_path", "the path is not in its canonical form");
  if (!verifier_ || std::find(open_paths_.begin(), open_paths_.end(), path) != open_paths_.end())
    return std::nullopt;
  std::string problem;
  if (const auto it = req.find(http::field::authorization); it != req.end()) {
    auto r = verifier_->verify(auth::bearer_token(it->value()), std::chrono::system_clock::now());
    if (auto* p = std::get_if<auth::Principal>(&r))
      ctx.principal = std::move(*p);
    else
      problem = std::get<auth::TokenRefusal>(r).reason;
  }
  const auto d =
      policy_.decide(req.method_string(), path, ctx.principal ? &*ctx.principal : nullptr);
  using V = auth::AccessDecision::Verdict;
  if (d.verdict == V::allow)
    return std::nullopt;
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

}  // namespace medgate::service
