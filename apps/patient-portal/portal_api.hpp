// The patient portal: HTML pages (sign in with a RUT; history, payments and appointments)
// and a JSON API for appointments, stored in the portal's own MySQL database. Medical and
// administrative data come only through medgate.
#pragma once

#include "apps/patient-portal/gateway_client.hpp"
#include "apps/service-kit/http_service.hpp"
#include "apps/service-kit/migrations.hpp"
#include "apps/service-kit/service_config.hpp"

namespace medgate::service {

[[nodiscard]] Router portal_routes(db::DbPool& pool, const ServiceConfig& cfg,
                                   std::shared_ptr<const GatewayClient> gateway);

// Embedded from apps/patient-portal/migrations.
std::span<const Migration> portal_migrations();

}  // namespace medgate::service
