// The common main() of the hospital services:
//   <service> --config FILE [--check-config]
// Loads the configuration, opens the database pool, applies the embedded migrations (waiting
// for the database while it comes up), serves until SIGINT/SIGTERM.
#pragma once

#include <functional>
#include <span>
#include <string>

#include "apps/service-kit/http_service.hpp"
#include "apps/service-kit/migrations.hpp"
#include "apps/service-kit/service_config.hpp"
#include "auth/access_policy.hpp"

namespace medgate::service {

struct ServiceDefinition {
  std::string name;  // "medical", "administrative", "portal"
  uint16_t default_port = 0;
  std::span<const Migration> migrations;
  // Reads the service's own configuration keys (may be empty).
  std::function<void(config::MapReader&)> read_extra;
  // Who may call which route (auth/access_policy.hpp); the service takes bearer tokens and
  // requires an `auth` section when this is not empty. /health stays open.
  std::vector<auth::AccessRule> access_rules;
  // Builds the routes once the pool is ready.
  std::function<Router(db::DbPool& pool, const ServiceConfig& cfg)> routes;
};

int service_main(int argc, char** argv, const ServiceDefinition& def);

// The /health answer every service gives: database reachable through the pool, or 503.
[[nodiscard]] boost::asio::awaitable<Response> health_reply(db::DbPool& pool,
                                                            const std::string& service,
                                                            const RequestContext& ctx);

}  // namespace medgate::service
