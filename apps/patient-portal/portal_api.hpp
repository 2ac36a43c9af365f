// The patient portal: HTML pages (sign-in with RUT and password; the signed-in patient's
// history, payments and appointments) and a JSON API for the patient's appointments, stored
// in the portal's own MySQL database. Medical and administrative data come only through
// medgate, with a short-lived token in the patient's name.
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "apps/patient-portal/gateway_client.hpp"
#include "apps/patient-portal/portal_security.hpp"
#include "apps/service-kit/http_service.hpp"
#include "apps/service-kit/migrations.hpp"
#include "apps/service-kit/service_config.hpp"

namespace medgate::service {

struct PortalParts {
  std::shared_ptr<const GatewayClient> gateway;
  std::shared_ptr<const PortalSecuritySettings> security;
};

// Sets the demo accounts' password (blocking) and builds the routes.
[[nodiscard]] Router portal_routes(db::DbPool& pool, const ServiceConfig& cfg,
                                   const PortalParts& parts);

// Embedded from apps/patient-portal/migrations.
std::span<const Migration> portal_migrations();

// Embedded from apps/patient-portal/static: the file's bytes, empty when there is none.
std::string_view portal_asset(std::string_view name);

}  // namespace medgate::service
