#include "apps/service-kit/sql_json.hpp"

#include "apps/service-kit/json_input.hpp"
#include "domain/rut.hpp"

namespace medgate::service {

int64_t sql_int(const db::SqlValue& v) {
  return v ? std::stoll(*v) : 0;
}

boost::json::value sql_text(const db::SqlValue& v) {
  return v ? boost::json::value(*v) : boost::json::value(nullptr);
}

std::string rut_path_param(const RequestContext& ctx) {
  auto rut = domain::normalize_rut(ctx.param("rut"));
  if (!rut)
    throw InputError(400, "invalid_rut", "rut",
                     "RUT must look like 12345678-5 with a valid check digit");
  return *rut;
}

}  // namespace medgate::service
