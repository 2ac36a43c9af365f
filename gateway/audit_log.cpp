#include "gateway/audit_log.hpp"

namespace medgate::gateway {

auth::AuditEntry audit_entry(const RequestInfo& info, std::string_view method,
                             std::string_view route, unsigned status) {
  return {.component = "medgate",
          .request_id = info.request_id,
          .subject = info.subject,
          .roles = info.roles,
          .patient = info.patient,
          .method = method,
          .route = route,
          .path = info.path,
          .denied = info.denied,
          .status = status};
}

}  // namespace medgate::gateway
