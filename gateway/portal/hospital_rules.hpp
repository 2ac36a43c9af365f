// What the hospital decides for medgate's generic core, wired in by apps/medgate:
// who may read the operator views, and what the logs may show of a request.
#pragma once

#include <string>
#include <string_view>

#include "auth/principal.hpp"

namespace medgate::gateway {

// Staff (any verified caller but a patient) may read the operator views beyond loopback:
// the topology is no patient's business.
[[nodiscard]] bool staff_reads_operator_views(const auth::Principal& who);

// `text` with every patient's RUT replaced by a pseudonym keyed with `key` (auth/redact.hpp):
// what the access and error logs may show.
[[nodiscard]] std::string redact_patients(std::string_view text, std::string_view key);

}  // namespace medgate::gateway
