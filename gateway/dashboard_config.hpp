// The SLA dashboard's settings (`dashboard:` in the gateway's configuration).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace medgate::gateway {

struct DashboardMonitor {
  std::string name;  // mariadb-monitor, ...
  std::string url;   // its HTTP API (http://127.0.0.1:8011)
  // With several monitors of one cluster (on etcd), every one's API, `url` first: the page
  // shows the one that acts.
  std::vector<std::string> urls;
};

struct DashboardConfig {
  bool enabled = true;
  std::string prometheus_url;  // empty: medgate's own counters only
  std::vector<DashboardMonitor> monitors;
  std::string drills_dir;  // medgate-drill's reports (*.json); empty: none listed
  std::chrono::milliseconds refresh{2000};
  // Used when Prometheus does not answer (it holds its own: medgate:objective:*).
  double availability_objective = 0.999;
  double latency_objective = 0.999;
};

}  // namespace medgate::gateway
