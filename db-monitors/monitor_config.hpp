// db-monitor's configuration (YAML through config/: errors name file, line and key;
// secrets come from the environment with ${NAME}). docs/db-monitors.md lists every key.
//
//   cluster: administrative
//   engine: postgresql                 # mariadb | mysql8 | postgresql
//   listen: { address: 127.0.0.1, port: 8012 }
//   state_file: /var/tmp/medgate-stack/admin-monitor/topology.json
//   event_log: /var/tmp/medgate-stack/admin-monitor/events.jsonl
//   access_log: false                  # a line per HTTP request (off: /primary is polled)
//   login: { user: medgate_monitor, password: "${PG_MONITOR_LOGIN_PASSWORD:-}", database: postgres
//   } replication: { user: repl, password: "${REPL_PASSWORD:-}" } nodes:
//     - { name: admin-db-primary, host: 127.0.0.1, port: 5433, rejoin_command: "..." }
//     - { name: admin-db-standby, host: 127.0.0.1, port: 5434 }
//   checks: { interval: 500ms, suspect_interval: 250ms, timeout: 400ms, failures: 3,
//             confirm_silence: 1s }
//   failover: { automatic: true, max_lag: 16777216, flap_window: 10m, max_failovers: 3,
//               apply_timeout: 10s, bootstrap_primary: admin-db-primary }
//   replication_mode: { manage: true }
//   rejoin: { automatic: true, backoff: 5s }
//   api: { token: "${MEDGATE_MONITOR_TOKEN:-}" }
//   etcd:                              # several monitors, one acting (empty endpoints: none)
//     endpoints: "${MEDGATE_ETCD_ENDPOINTS:-}"   # http://host:port, a list or one string
//     member: "${DB_MONITOR_MEMBER:-m1}"         # unique among the cluster's monitors
//     prefix: /medgate
//     lease_ttl: 3s
//     renew_every: 1s
//     margin: 1s                       # stop acting this long before the lease can expire
#pragma once

#include <string>

#include "config/yaml_reader.hpp"
#include "db-monitors/etcd_store.hpp"
#include "db-monitors/monitor.hpp"

namespace medgate::dbmon {

enum class EngineKind : uint8_t { mariadb, mysql8, postgresql };

struct MonitorConfig {
  EngineKind engine = EngineKind::mariadb;
  std::string listen_address = "127.0.0.1";
  uint16_t listen_port = 0;
  std::string state_file;  // the record when etcd is not configured
  // etcd.endpoints empty: one monitor on its state file.
  EtcdStoreOptions etcd;
  std::string event_log;    // empty: events to standard output only
  bool access_log = false;  // a line per HTTP request on standard error
  ReplicationLogin replication;
  std::string api_token;  // empty: operator commands are refused
  MonitorOptions monitor;
};

[[nodiscard]] MonitorConfig load_monitor_config(const std::string& path,
                                                config::EnvLookup env = config::process_env);

}  // namespace medgate::dbmon
