#include "auth/access_policy.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <stdexcept>

#include "domain/rut.hpp"

namespace medgate::auth {

namespace {

constexpr std::array<std::string_view, 7> kMethods = {"GET",    "POST",    "PUT", "PATCH",
                                                      "DELETE", "OPTIONS", "HEAD"};

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.starts_with('/'))
    path.remove_prefix(1);
  while (!path.empty()) {
    const size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

}  // namespace

std::optional<MethodSet> MethodSet::parse(std::string_view method) {
  if (method == "*")
    return all();
  for (size_t i = 0; i < kMethods.size(); ++i) {
    if (kMethods[i] != method)
      continue;
    uint8_t bits = static_cast<uint8_t>(1U << i);
    if (method == "GET")
      bits |= static_cast<uint8_t>(1U << 6);  // HEAD goes with GET
    return MethodSet(bits);
  }
  return std::nullopt;
}

bool MethodSet::has(std::string_view method) const {
  for (size_t i = 0; i < kMethods.size(); ++i)
    if (kMethods[i] == method)
      return (bits_ & (1U << i)) != 0;
  return bits_ == 0xff;  // an extension method only under "*"
}

void validate_pattern(std::string_view pattern) {
  if (!pattern.starts_with('/'))
    throw std::invalid_argument("pattern '" + std::string(pattern) + "' must start with '/'");
  const auto segs = split(pattern);
  int ruts = 0;
  for (size_t i = 0; i < segs.size(); ++i) {
    const auto s = segs[i];
    if (s.empty())
      throw std::invalid_argument("pattern '" + std::string(pattern) + "' has an empty segment");
    if (s == "**" && i + 1 != segs.size())
      throw std::invalid_argument("pattern '" + std::string(pattern) + "': '**' must be last");
    if (s == "{rut}")
      ++ruts;
    else if (s.find_first_of("{}*") != std::string_view::npos && s != "*" && s != "**")
      throw std::invalid_argument("pattern '" + std::string(pattern) +
                                  "': a segment is literal, '*', '**' or '{rut}'");
  }
  if (ruts > 1)
    throw std::invalid_argument("pattern '" + std::string(pattern) + "' names {rut} twice");
}

AccessPolicy::AccessPolicy(std::vector<AccessRule> rules) : rules_(std::move(rules)) {
  for (const auto& r : rules_) {
    validate_pattern(r.pattern);
    Compiled c;
    for (const auto s : split(r.pattern)) {
      if (s == "**") {
        c.rest = true;
        break;
      }
      if (s == "{rut}")
        c.rut_index = static_cast<int>(c.segments.size());
      c.segments.emplace_back(s);
    }
    if (r.patient_self && c.rut_index < 0)
      throw std::invalid_argument("rule '" + r.pattern + "': patient_self needs a {rut} segment");
    compiled_.push_back(std::move(c));
  }
}

bool AccessPolicy::matches(const Compiled& c, std::string_view path, std::string_view* rut) const {
  const auto segs = split(path);
  if (segs.size() < c.segments.size() || (!c.rest && segs.size() != c.segments.size()))
    return false;
  for (size_t i = 0; i < c.segments.size(); ++i) {
    const std::string& want = c.segments[i];
    if (want == "*" || static_cast<int>(i) == c.rut_index)
      continue;
    if (segs[i] != want)
      return false;
  }
  if (c.rut_index >= 0)
    *rut = segs[static_cast<size_t>(c.rut_index)];
  return true;
}

bool AccessPolicy::covers(std::string_view canonical_path) const {
  std::string_view rut;
  for (const auto& c : compiled_)
    if (matches(c, canonical_path, &rut))
      return true;
  return false;
}

AccessDecision AccessPolicy::decide(std::string_view method, std::string_view canonical_path,
                                    const Principal* principal) const {
  AccessDecision d;
  for (size_t i = 0; i < rules_.size(); ++i) {
    std::string_view rut;
    if (!rules_[i].methods.has(method) || !matches(compiled_[i], canonical_path, &rut))
      continue;
    const AccessRule& rule = rules_[i];
    d.rule = static_cast<int>(i);
    const auto canonical_rut = rut.empty() ? std::nullopt : domain::normalize_rut(rut);
    d.patient = canonical_rut ? *canonical_rut : std::string(rut.substr(0, 32));
    if (!principal) {
      d.verdict = AccessDecision::Verdict::unauthenticated;
      d.reason = "a bearer token is required";
      return d;
    }
    if (principal->roles.intersects(rule.roles) ||
        (rule.patient_self && principal->roles.has(Role::patient) && canonical_rut &&
         *canonical_rut == principal->subject)) {
      d.verdict = AccessDecision::Verdict::allow;
      return d;
    }
    d.verdict = AccessDecision::Verdict::forbidden;
    d.reason = principal->roles.has(Role::patient) && rule.patient_self
                   ? "a patient may reach only their own records"
                   : "role " + principal->roles.str() + " may not " + std::string(method) + " " +
                         rule.pattern;
    return d;
  }
  d.verdict =
      principal ? AccessDecision::Verdict::forbidden : AccessDecision::Verdict::unauthenticated;
  d.reason = principal ? "no access rule allows this route" : "a bearer token is required";
  return d;
}

std::string patient_in_body(std::string_view body, std::string_view field) {
  if (field.empty() || body.empty() || body.size() > 1024 * 1024)
    return {};
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object())
    return {};
  const auto* f = v.as_object().if_contains(field);
  if (!f || !f->is_string())
    return {};
  return domain::normalize_rut(f->as_string()).value_or("");
}

}  // namespace medgate::auth
