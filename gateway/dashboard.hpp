// The SLA dashboard's data, gathered off the request path: a thread of its own polls
// Prometheus (service levels; medgate's own counters when it does not answer), each
// database monitor (topology and last events) and the drill reports' directory, and keeps
// the latest result as one JSON text. Only while someone reads it (the last minute): idle,
// it samples medgate's own counters and nothing else. Requests only read that text: no I/O on an
// io_context thread. No patient data goes in: counts, states, node names and drill figures.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/object.hpp>

#include "gateway/dashboard_config.hpp"
#include "gateway/service_levels.hpp"

namespace medgate::gateway {

class DashboardCollector {
 public:
  DashboardCollector(DashboardConfig cfg, std::function<ApiTotals()> totals);
  ~DashboardCollector();  // stops the thread
  DashboardCollector(const DashboardCollector&) = delete;
  DashboardCollector& operator=(const DashboardCollector&) = delete;

  // The latest collection, a JSON object's text ("{}" before the first).
  [[nodiscard]] std::shared_ptr<const std::string> snapshot() const;

 private:
  void loop();
  boost::json::object collect();
  boost::json::object service_levels();
  boost::json::array databases();
  // The events of the monitor at `url` (throws on a bad answer).
  boost::json::array monitor_events(const std::string& url);
  boost::json::array drills();

  DashboardConfig cfg_;
  std::function<ApiTotals()> totals_;
  TotalsHistory history_;
  std::map<std::string, uint64_t> monitor_seq_;
  std::map<std::string, std::vector<boost::json::object>> monitor_events_;
  std::map<std::string, boost::json::object> drill_cache_;  // file name -> summary
  int round_ = 0;
  boost::json::object last_prometheus_;

  bool last_prometheus_stale_ = false;  // gathered before an idle spell

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopping_ = false;
  mutable std::chrono::steady_clock::time_point last_read_{};  // a reader's last look
  mutable bool idle_ = false;  // the loop gathers nothing remote until someone looks
  mutable bool wake_ = false;  // a reader arrived while idle
  std::shared_ptr<const std::string> snapshot_;
  std::thread thread_;
};

}  // namespace medgate::gateway
