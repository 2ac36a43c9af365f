// A service's configuration (YAML through config/, so errors name file, line and key):
//
//   listen: { address: 127.0.0.1, port: 5001 }
//   threads: 2
//   limits: { max_header_bytes: 16384, max_body_bytes: 262144, header_timeout: 10s }
//   database:
//     driver: mariadb            # mariadb | mysql8 | postgresql
//     nodes: [ "127.0.0.1:3306", "127.0.0.1:3307" ]   # any order: the writable one is found
//     user: medical_app
//     password: ${MEDICAL_DB_PASSWORD}
//     name: medical
//     max_connections: 8
//     threads: 4
//     connect_timeout: 2s
//     acquire_timeout: 3s
//     failover_wait: 10s
//     reads_on_replica: false
//     io_timeout: 10s            # bound on each statement's network reads and writes
//     topology_url: http://127.0.0.1:8012/primary   # the cluster's db-monitor (optional)
//   idempotency: { ttl: 24h, cleanup_interval: 10m }   # how long keys replay
//   auth:                        # services that take bearer tokens (auth/auth_config.hpp)
//     audience: medgate
//     key_dir: /path/public-keys
//     grants: [ { kid: staff-1, issuer: medgate-local, roles: [doctor] } ]
//   audit_log: { path: /path/medical-audit.jsonl }   # required with auth on (auth/audit_log.hpp)
//   <service-specific keys>     # read by the `extra` callback
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "apps/service-kit/http_service.hpp"
#include "apps/service-kit/sql_dialect.hpp"
#include "auth/audit_log.hpp"
#include "auth/auth_config.hpp"
#include "clients/db/db_pool.hpp"
#include "clients/db/mariadb_driver.hpp"
#include "config/yaml_reader.hpp"

namespace medgate::service {

enum class DbDriverKind : uint8_t { mariadb, mysql8, postgresql };

struct ServiceConfig {
  ListenOptions listen;
  ServiceLimits limits;
  DbDriverKind driver = DbDriverKind::mariadb;
  db::DbPoolOptions pool;
  // Bound on every statement's reads and writes: a hung database holds a worker thread no
  // longer (MariaDB counts whole seconds).
  std::chrono::milliseconds io_timeout{10'000};
  // Idempotency keys replay for at least `ttl`; older ones are deleted every
  // `cleanup_interval`, in batches of at most 1000.
  std::chrono::seconds idempotency_ttl{24 * 3600};
  std::chrono::milliseconds idempotency_cleanup{10 * 60'000};
  // How callers' tokens are verified (services that take bearer tokens).
  auth::VerifierSettings auth;
  // Where calls about patients are audited (services that take bearer tokens, auth on).
  std::optional<auth::AuditLogSettings> audit_log;

  [[nodiscard]] SqlDialect dialect() const {
    return driver == DbDriverKind::postgresql ? SqlDialect::postgres : SqlDialect::mysql;
  }
  [[nodiscard]] std::shared_ptr<db::DbDriver> make_driver() const;
};

// `extra` reads the service's own top-level keys (may be empty); unknown keys are errors.
// With `bearer_auth`, `auth` is required (and may be off only on a loopback listener);
// without, it is not a key of this service.
[[nodiscard]] ServiceConfig load_service_config(
    const std::string& path, uint16_t default_port, bool bearer_auth,
    const std::function<void(config::MapReader&)>& extra = {},
    config::EnvLookup env = config::process_env);

}  // namespace medgate::service
