// Where the drill finds the system: medgate, the portal, each database cluster's monitor,
// nodes and table, and the credentials the local stack made (credentials.env).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace medgate::drill {

struct ClusterLayout {
  std::string name;         // medical, administrative, portal (the upstream it serves)
  std::string monitor;      // mariadb-monitor, postgres-monitor, mysql-monitor
  std::string monitor_url;  // the acting one (follow_acting_monitors)
  // Every monitor of the cluster (two on etcd); the first is the default.
  std::vector<std::string> monitor_urls;
  std::string driver;                                   // mariadb, postgres
  std::vector<std::pair<std::string, uint16_t>> nodes;  // program name, port
  std::string database, user, password;
  std::string table, key_column;  // where a drill write's key lands
};

struct StackLayout {
  std::string stack_dir;
  std::string medgate_url = "http://127.0.0.1:8000";
  std::string portal_url = "http://127.0.0.1:3003";
  std::string log_dir;  // empty: no log scanning (compose)
  std::map<std::string, std::string> credentials;
  std::vector<ClusterLayout> clusters;
  std::vector<std::string> medical_instances{"medical-1", "medical-2"};
  std::string medgate_program = "medgate";

  [[nodiscard]] const ClusterLayout& cluster(const std::string& name) const;
  [[nodiscard]] std::string credential(const std::string& key) const;
};

// The local stack's layout (scripts/lib/stack.sh), credentials read from
// STACK_DIR/credentials.env. Throws std::runtime_error when the file is missing.
[[nodiscard]] StackLayout local_stack_layout(const std::string& stack_dir);

// Points each cluster's monitor_url at the monitor that acts now (its events tell the
// failover; only it takes commands). Unchanged when none or several say so.
void follow_acting_monitors(StackLayout& layout);

// KEY=VALUE lines; '#' comments and blank lines skipped; surrounding quotes removed.
[[nodiscard]] std::map<std::string, std::string> parse_env_file(const std::string& text);

}  // namespace medgate::drill
