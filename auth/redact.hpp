// Patient identifiers out of ordinary logs: every RUT in a text — a request target in any
// spelling (percent-encoded, dotted, lower-case k, inside a longer segment, in a refused
// path) or a database's error message — becomes "rut~" and its keyed pseudonym
// (auth/secrets.hpp), so the access log can still be correlated (same patient, same
// pseudonym) without naming anyone. Who looked at which patient is the audit log's job.
#pragma once

#include <string>
#include <string_view>

namespace medgate::auth {

// `text` percent-decoded (up to three times, so a doubly encoded RUT is found too), with
// every RUT in it replaced. What comes back is the decoded text: log it as data (escaped),
// never as a request. A RUT is digits (dots allowed) and '-' and a check character whose
// check holds, wherever it stands; digits that are not a RUT are left alone.
[[nodiscard]] std::string redact_ruts(std::string_view text, std::string_view key);

}  // namespace medgate::auth
