// medgate's side of the audit log (auth/audit_log.hpp): the entry for one decided request.
#pragma once

#include <string_view>

#include "auth/audit_log.hpp"
#include "gateway/upstream_call.hpp"

namespace medgate::gateway {

using AuditLog = auth::AuditLog;

// The audit entry of a request medgate decided; views into `info`, `method` and `route`.
[[nodiscard]] auth::AuditEntry audit_entry(const RequestInfo& info, std::string_view method,
                                           std::string_view route, unsigned status);

}  // namespace medgate::gateway
