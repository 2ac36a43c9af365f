// Pure transforms from the services' JSON into the portal's shapes (docs/portal-api.md).
// No I/O: unit-tested on their own.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace medgate::gateway {

// Each returns nullopt when the upstream body does not have the documented shape; the
// caller then answers 502 instead of guessing.
[[nodiscard]] std::optional<boost::json::object> to_medical_history(std::string_view rut,
                                                                    std::string_view body);
[[nodiscard]] std::optional<boost::json::object> to_doctors(std::string_view specialty,
                                                            std::string_view body);
[[nodiscard]] std::optional<boost::json::object> to_patient(std::string_view body);
// `invoices_body` is nullopt when the invoices could not be fetched: the answer then says
// so ("pending_invoices": null, "total_debt": null, "degraded": [...]).
[[nodiscard]] std::optional<boost::json::object> to_payments(
    std::string_view rut, std::string_view payments_body,
    std::optional<std::string_view> invoices_body);

}  // namespace medgate::gateway
