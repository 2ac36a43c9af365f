// The administrative service's HTTP API (PostgreSQL): patients, payments, insurance,
// invoices. The contract the gateway consumes is in docs/portal-api.md.
#pragma once

#include "apps/service-kit/http_service.hpp"
#include "apps/service-kit/migrations.hpp"
#include "apps/service-kit/service_config.hpp"
#include "auth/access_policy.hpp"

namespace medgate::service {

[[nodiscard]] Router admin_routes(db::DbPool& pool, const ServiceConfig& cfg);
// Who may call which of those routes (checked again behind medgate's own rules).
[[nodiscard]] std::vector<auth::AccessRule> admin_access_rules();

// Embedded from apps/admin-service/migrations.
std::span<const Migration> admin_migrations();

}  // namespace medgate::service
