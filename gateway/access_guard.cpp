#include "gateway/access_guard.hpp"

#include <boost/beast/http/field.hpp>

#include "gateway/http_util.hpp"

namespace medgate::gateway {

namespace http = boost::beast::http;

namespace {

// RFC 6750 §3: the challenge, with the reason a presented token was refused.
std::string challenge(std::string_view description) {
  std::string c = "Bearer realm=\"medgate\"";
  if (!description.empty()) {
    c += ", error=\"invalid_token\", error_description=\"";
    for (const char ch : description)
      if (ch != '"' && ch != '\\')
        c += ch;
    c += '"';
  }
  return c;
}

}  // namespace

AccessGuard::AccessGuard(const AuthConfig& cfg) : policy_(cfg.rules) {
  if (cfg.verifier.enabled)
    verifier_.emplace(cfg.verifier.keys, cfg.verifier.options);
}

std::optional<auth::Principal> AccessGuard::principal(const clients::WireRequest& req) const {
  if (!verifier_)
    return std::nullopt;
  const auto h = req.fields.find(http::field::authorization);
  if (!h)
    return std::nullopt;
  auto r = verifier_->verify(auth::bearer_token(*h), std::chrono::system_clock::now());
  if (auto* p = std::get_if<auth::Principal>(&r))
    return std::move(*p);
  return std::nullopt;
}

std::optional<clients::WireResponse> AccessGuard::check(const clients::WireRequest& req,
                                                        RequestInfo& info,
                                                        auth::VerifiedTokenCache* cache) const {
  if (!verifier_)
    return std::nullopt;
  const auth::Principal* who = nullptr;
  std::optional<auth::Principal> verified;
  std::string token_problem;
  if (const auto h = req.fields.find(http::field::authorization)) {
    const auto token = auth::bearer_token(*h);
    const auto now = std::chrono::system_clock::now();
    who = cache && !token.empty() ? cache->find(token, now) : nullptr;
    if (!who) {
      auto r = verifier_->verify(token, now);
      if (auto* p = std::get_if<auth::Principal>(&r)) {
        verified = std::move(*p);
        who = &*verified;
        if (cache)
          cache->put(token, *verified, now, verifier_->options().leeway);
      } else {
        token_problem = std::get<auth::TokenRefusal>(r).reason;
      }
    }
  }
  if (who) {
    info.subject = who->subject;
    info.roles = who->roles;
  }
  const auto d = policy_.decide(req.method_text, info.path, who);
  info.patient = d.patient;
  if (d.rule >= 0) {
    const auth::AccessRule& rule = policy_.rules()[static_cast<size_t>(d.rule)];
    info.audit = rule.audit;
    if (info.patient.empty() && !rule.patient_field.empty())
      info.patient = auth::patient_in_body(req.body, rule.patient_field);
  }
  using V = auth::AccessDecision::Verdict;
  if (d.verdict == V::allow)
    return std::nullopt;
  info.denied = true;
  info.token_refusal = token_problem;
  if (d.verdict == V::unauthenticated) {
    auto res = error_response(401, "unauthorized",
                              token_problem.empty() ? d.reason : "invalid token: " + token_problem);
    res.fields.set("WWW-Authenticate", challenge(token_problem));
    return res;
  }
  return error_response(403, "forbidden", d.reason);
}

}  // namespace medgate::gateway
