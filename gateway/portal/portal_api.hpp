// The hospital portal's API, answered by medgate itself on top of the medical and
// administrative upstreams (compatible with the system medgate replaces):
//   GET /api/medical-history/{rut}  -> medical  GET /patients/{rut}/consultations
//   GET /api/doctors?specialty=     -> medical  GET /doctors?specialty=
//   GET /api/patient/{rut}          -> admin    GET /patients/{rut}
//   GET /api/payments/{rut}         -> admin    GET /patients/{rut}/payments + /invoices
// Answers are transformed into one shape (portal_transform.hpp); a malformed RUT is refused
// before any upstream is called; stale copies and unavailability are said so, not hidden.
#pragma once

#include <memory>
#include <string>

#include "gateway/api_module.hpp"
#include "gateway/portal/portal_config.hpp"

namespace medgate::gateway {

// A missing upstream is not an error at start: its paths answer 503.
[[nodiscard]] std::unique_ptr<ApiModule> make_portal_api(const PortalConfig& cfg);

}  // namespace medgate::gateway
