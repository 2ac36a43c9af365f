// TopologySource over a database monitor's HTTP API (GET /primary of db-monitor): 200 names
// the primary, 503 says none takes writes, anything else means the monitor did not answer.
// Answers are kept for `ttl`, so a busy pool asks a few times a second at most; an answer of
// "no primary" (a failover under way) only for a fifth of it, so the new primary is learnt
// within tens of milliseconds of its publication.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "clients/db/db_pool.hpp"

namespace medgate::db {

class MonitorTopology final : public TopologySource {
 public:
  explicit MonitorTopology(std::string url,
                           std::chrono::milliseconds timeout = std::chrono::milliseconds(500),
                           std::chrono::milliseconds ttl = std::chrono::milliseconds(250));
  [[nodiscard]] Answer primary() override;

  // Reads a /primary answer (exposed for tests).
  [[nodiscard]] static Answer parse(long status, const std::string& body);

 private:
  std::string url_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  Answer cached_;
  std::chrono::steady_clock::time_point fetched_{};
};

}  // namespace medgate::db
