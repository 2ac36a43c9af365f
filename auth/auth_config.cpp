#include "auth/auth_config.hpp"

#include <map>
#include <set>
#include <stdexcept>

namespace medgate::auth {

using config::Node;

AuditLogSettings read_audit_log_settings(const Node& node) {
  auto a = node.map();
  AuditLogSettings s;
  s.path = a.get_string("path", "");
  s.max_bytes = static_cast<uint64_t>(
      a.get_int("max_bytes", static_cast<int64_t>(s.max_bytes), 64 * 1024, int64_t{1} << 40));
  s.max_files = static_cast<uint32_t>(a.get_int("max_files", s.max_files, 1, 1000));
  a.finish();
  return s;
}

RoleSet read_roles(const Node& seq) {
  RoleSet roles;
  for (const Node& item : seq.items()) {
    const auto name = item.as_nonempty_string();
    const auto role = parse_role(name);
    if (!role)
      item.fail("unknown role '" + name +
                "' (roles: patient, doctor, nurse, administrative, accountant, service)");
    roles.add(*role);
  }
  return roles;
}

VerifierSettings read_verifier_settings(config::MapReader& m) {
  VerifierSettings s;
  s.enabled = m.get_bool("enabled", true);
  if (auto old = m.optional("issuers"))
    old->fail("issuers is replaced by grants: each key's grant names the one issuer it signs for");
  if (!s.enabled) {
    // Read (so finish() does not call them unknown) but not required.
    for (const char* key : {"audience", "leeway", "key_dir", "keys", "grants"})
      (void)m.optional(key);
    return s;
  }
  s.options.audience = m.required("audience").as_nonempty_string();
  s.options.leeway = std::chrono::duration_cast<std::chrono::seconds>(m.get_duration(
      "leeway", std::chrono::seconds(30), std::chrono::seconds(0), std::chrono::minutes(10)));

  // Public keys first (by kid, with where each came from), then each one's grant.
  struct Found {
    std::string pem;
    std::optional<Node> where;  // the `keys` item, or none for key_dir
  };
  std::map<std::string, Found> found;
  std::optional<Node> dir_node = m.optional("key_dir");
  if (dir_node) {
    try {
      for (auto& [kid, pem] : read_key_dir(dir_node->as_nonempty_string()))
        found.emplace(kid, Found{std::move(pem), std::nullopt});
    } catch (const std::exception& e) {
      dir_node->fail(e.what());
    }
  }
  if (auto keys = m.optional("keys")) {
    for (const Node& item : keys->items()) {
      auto k = item.map();
      const auto kid = k.required("kid").as_nonempty_string();
      std::string pem;
      if (auto file = k.optional("file")) {
        try {
          pem = read_key_file(file->as_nonempty_string());
        } catch (const std::exception& e) {
          file->fail(e.what());
        }
      } else {
        pem = k.required("pem").as_nonempty_string();
      }
      k.finish();
      if (!found.emplace(kid, Found{std::move(pem), item}).second)
        item.fail("key '" + kid + "' is given twice (key_dir and keys, or twice in keys)");
    }
  }
  if (found.empty())
    m.self().fail("auth needs at least one verification key (key_dir or keys)");

  // Deny by default: a key without a grant signs nothing, so its presence is an error rather
  // than a key silently honoured for every role.
  const Node grants = m.required("grants");
  std::set<std::string> granted;
  for (const Node& item : grants.items()) {
    auto g = item.map();
    const Node kid_node = g.required("kid");
    const auto kid = kid_node.as_nonempty_string();
    KeyGrant grant;
    grant.issuer = g.required("issuer").as_nonempty_string();
    grant.roles = read_roles(g.required("roles"));
    g.finish();
    const auto it = found.find(kid);
    if (it == found.end())
      kid_node.fail("grant for key '" + kid + "', which is not among the keys (key_dir, keys)");
    if (!granted.insert(kid).second)
      kid_node.fail("key '" + kid + "' has two grants");
    try {
      s.keys.add(kid, it->second.pem, std::move(grant));
    } catch (const std::invalid_argument& e) {
      item.fail(e.what());
    }
  }
  for (const auto& [kid, key] : found)
    if (!granted.contains(kid)) {
      const std::string what = "key '" + kid + "' has no grant in auth.grants (" +
                               (key.where ? "keys" : "key_dir") +
                               "): every key names the issuer and roles it may sign";
      grants.fail(what);
    }
  return s;
}

std::vector<AccessRule> read_access_rules(const Node& seq) {
  std::vector<AccessRule> rules;
  for (const Node& item : seq.items()) {
    auto r = item.map();
    AccessRule rule;
    const Node path = r.required("path");
    rule.pattern = path.as_nonempty_string();
    try {
      validate_pattern(rule.pattern);
    } catch (const std::invalid_argument& e) {
      path.fail(e.what());
    }
    if (auto methods = r.optional("methods")) {
      for (const Node& mn : methods->items()) {
        const auto parsed = MethodSet::parse(mn.as_nonempty_string());
        if (!parsed)
          mn.fail("unknown method (GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD or *)");
        rule.methods.add(*parsed);
      }
    } else {
      rule.methods = MethodSet::all();
    }
    if (auto roles = r.optional("roles"))
      rule.roles = read_roles(*roles);
    rule.patient_self = r.get_bool("patient_self", false);
    if (rule.patient_self && rule.pattern.find("{rut}") == std::string::npos)
      r.required("patient_self").fail("patient_self needs a {rut} segment in path");
    if (rule.roles.empty() && !rule.patient_self)
      item.fail("a rule must allow some roles or patient_self");
    if (auto field = r.optional("patient_field"))
      rule.patient_field = field->as_nonempty_string();
    rule.audit = r.get_bool(
        "audit", rule.pattern.find("{rut}") != std::string::npos || !rule.patient_field.empty());
    r.finish();
    rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace medgate::auth
