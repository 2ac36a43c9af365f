// Who may call which path with which method: an ordered list of rules, the first rule whose
// path pattern and method match decides, and a path no rule matches is refused (deny by
// default). Paths must be canonical (auth/canonical_path.hpp) before they are decided on.
//
// A pattern is literal segments, `*` (any one segment), `{rut}` (one segment naming the
// patient the call is about) and, last only, `**` (any rest, also none). A rule allows its
// `roles`, and with `patient_self` also a patient token whose subject is the `{rut}`
// segment's RUT (in any spelling: dots, lower-case k).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/principal.hpp"

namespace medgate::auth {

// HTTP methods as a bit mask; HEAD goes with GET.
class MethodSet {
 public:
  // "GET", "POST", ... or "*" (all). nullopt for an unknown method.
  [[nodiscard]] static std::optional<MethodSet> parse(std::string_view method);
  static MethodSet all() { return MethodSet(0xff); }
  void add(MethodSet o) { bits_ |= o.bits_; }
  [[nodiscard]] bool has(std::string_view method) const;
  [[nodiscard]] bool empty() const { return bits_ == 0; }

 private:
  explicit MethodSet(uint8_t bits) : bits_(bits) {}

 public:
  MethodSet() = default;  // no method

 private:
  uint8_t bits_ = 0;
};

struct AccessRule {
  std::string pattern;  // as written, for logs and errors
  MethodSet methods;
  RoleSet roles;
  bool patient_self = false;
  // Calls it decides are written to the audit log: by default those naming a patient
  // ({rut}); a rule over patients' records without one (a listing, a write whose patient is
  // in the body) sets it.
  bool audit = false;
  // A write whose patient is in its JSON body: the body field naming them (`patient_rut`),
  // so the audit line names the patient as it would from a {rut} path. Empty: none.
  std::string patient_field;
};

// The canonical RUT in `field` of a JSON object `body`; empty when the body is not such an
// object, the field is absent, not a string, or not a valid RUT. Bodies over 1 MiB are not
// read.
[[nodiscard]] std::string patient_in_body(std::string_view body, std::string_view field);

struct AccessDecision {
  enum class Verdict : uint8_t { allow, unauthenticated, forbidden };
  Verdict verdict = Verdict::forbidden;
  std::string reason;   // for the 401/403 body; empty when allowed
  std::string patient;  // the {rut} segment, canonical when it is a valid RUT
  int rule = -1;        // index of the deciding rule, -1 when none matched
};

class AccessPolicy {
 public:
  AccessPolicy() = default;
  // Throws std::invalid_argument naming the pattern when it is malformed.
  explicit AccessPolicy(std::vector<AccessRule> rules);

  // `principal` null: the caller presented no valid token.
  [[nodiscard]] AccessDecision decide(std::string_view method, std::string_view canonical_path,
                                      const Principal* principal) const;
  // Whether some rule's pattern matches `canonical_path` (any method).
  [[nodiscard]] bool covers(std::string_view canonical_path) const;
  [[nodiscard]] const std::vector<AccessRule>& rules() const { return rules_; }

 private:
  struct Compiled {
    std::vector<std::string> segments;
    int rut_index = -1;  // which segment is {rut}
    bool rest = false;   // ends in **
  };
  [[nodiscard]] bool matches(const Compiled& c, std::string_view path, std::string_view* rut) const;

  std::vector<AccessRule> rules_;
  std::vector<Compiled> compiled_;
};

// Throws std::invalid_argument when `pattern` is malformed (see above).
void validate_pattern(std::string_view pattern);

}  // namespace medgate::auth
