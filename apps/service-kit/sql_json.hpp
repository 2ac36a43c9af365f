// Small conversions the services' handlers share: SQL text values to JSON, path RUTs.
#pragma once

#include <cstdint>
#include <string>

#include <boost/json/value.hpp>

#include "apps/service-kit/http_service.hpp"
#include "clients/db/db.hpp"

namespace medgate::service {

// An integer column (0 when NULL).
[[nodiscard]] int64_t sql_int(const db::SqlValue& v);
// A text column as a JSON string, or null.
[[nodiscard]] boost::json::value sql_text(const db::SqlValue& v);
// The {rut} path parameter, normalized; 400 invalid_rut (field "rut") when malformed.
[[nodiscard]] std::string rut_path_param(const RequestContext& ctx);

}  // namespace medgate::service
