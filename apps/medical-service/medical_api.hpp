// The medical service's HTTP API (MariaDB): consultations, diagnoses, treatments, doctors and
// their availability. The contract the gateway consumes is in docs/portal-api.md; the full
// API in docs/services.md.
#pragma once

#include "apps/service-kit/http_service.hpp"
#include "apps/service-kit/migrations.hpp"
#include "apps/service-kit/service_config.hpp"
#include "auth/access_policy.hpp"

namespace medgate::service {

[[nodiscard]] Router medical_routes(db::DbPool& pool, const ServiceConfig& cfg);
// Who may call which of those routes (checked again behind medgate's own rules).
[[nodiscard]] std::vector<auth::AccessRule> medical_access_rules();

// Embedded from apps/medical-service/migrations.
std::span<const Migration> medical_migrations();

}  // namespace medgate::service
