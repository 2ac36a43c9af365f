// Patient identifiers out of ordinary logs: every path segment or query value of a target
// that is a valid RUT becomes "rut~" and its keyed pseudonym (auth/secrets.hpp), so the
// access log can still be correlated (same patient, same pseudonym) without naming anyone.
// Who looked at which patient is the audit log's job.
#pragma once

#include <string>
#include <string_view>

namespace medgate::auth {

[[nodiscard]] std::string redact_ruts(std::string_view target, std::string_view key);

}  // namespace medgate::auth
