// The `auth` section shared by medgate and the services: token verification settings and
// (medgate) access rules, read through config/ so errors name file, line and key.
//
//   auth:
//     enabled: true                 # false: no token asked for (loopback listeners only)
//     audience: medgate             # required in `aud`
//     leeway: 30s                   # clock skew allowed on exp/nbf
//     key_dir: /path/keys           # every <kid>.pub.pem in it, and/or:
//     keys: [ { kid: k2, file: /path/k2.pub.pem }, { kid: k3, pem: "${K3_PEM}" } ]
//     grants:                       # one per key, required: what its tokens may claim
//       - { kid: staff-1, issuer: medgate-local, roles: [doctor, nurse, administrative] }
//       - { kid: portal-1, issuer: medgate-portal, roles: [patient] }
//     rules:                        # medgate: first match decides; no match is refused
//       - { path: "/api/patient/{rut}", methods: [GET], roles: [doctor], patient_self: true }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/access_policy.hpp"
#include "auth/token_verifier.hpp"
#include "config/yaml_reader.hpp"

namespace medgate::auth {

struct VerifierSettings {
  bool enabled = true;
  KeySet keys;
  VerifierOptions options;
};

// Reads the verification keys of `m` (an `auth` map) without finishing it: the caller reads
// its own keys and finishes. With `enabled: false` nothing else is required.
[[nodiscard]] VerifierSettings read_verifier_settings(config::MapReader& m);

// A sequence of rules (see above).
[[nodiscard]] std::vector<AccessRule> read_access_rules(const config::Node& seq);

// Where an audit log goes (auth/audit_log.hpp).
struct AuditLogSettings {
  std::string path;  // required where authentication is on
  uint64_t max_bytes = 64 * 1024 * 1024;
  uint32_t max_files = 10;
};

// Reads an `audit_log` map ({ path, max_bytes, max_files }) and finishes it.
[[nodiscard]] AuditLogSettings read_audit_log_settings(const config::Node& node);

// A RoleSet from a sequence of role names.
[[nodiscard]] RoleSet read_roles(const config::Node& seq);

}  // namespace medgate::auth
