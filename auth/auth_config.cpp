#include "auth/auth_config.hpp"

#include <stdexcept>

namespace medgate::auth {

using config::Node;

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
  if (!s.enabled) {
    // Read (so finish() does not call them unknown) but not required.
    for (const char* key : {"issuers", "audience", "leeway", "key_dir", "keys"})
      (void)m.optional(key);
    return s;
  }
  for (const Node& item : m.required("issuers").items())
    s.options.issuers.push_back(item.as_nonempty_string());
  if (s.options.issuers.empty())
    m.required("issuers").fail("at least one issuer is required");
  s.options.audience = m.required("audience").as_nonempty_string();
  s.options.leeway = std::chrono::duration_cast<std::chrono::seconds>(m.get_duration(
      "leeway", std::chrono::seconds(30), std::chrono::seconds(0), std::chrono::minutes(10)));
  if (auto dir = m.optional("key_dir")) {
    try {
      s.keys.add_dir(dir->as_nonempty_string());
    } catch (const std::exception& e) {
      dir->fail(e.what());
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
      try {
        s.keys.add(kid, pem);
      } catch (const std::invalid_argument& e) {
        item.fail(e.what());
      }
      k.finish();
    }
  }
  if (s.keys.empty())
    m.self().fail("auth needs at least one verification key (key_dir or keys)");
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
    rule.audit = r.get_bool("audit", rule.pattern.find("{rut}") != std::string::npos);
    r.finish();
    rules.push_back(std::move(rule));
  }
  return rules;
}

}  // namespace medgate::auth
