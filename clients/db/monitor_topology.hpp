// TopologySource over the database monitors' HTTP API (GET /primary of db-monitor): 200 names
// the primary, 503 says none takes writes, anything else means the monitor did not answer.
// With several monitors of one cluster (on etcd, any of them answers from the shared record)
// they are asked in turn until one answers.
//
// Answers are kept for `ttl`, so a busy pool asks a few times a second at most; an answer of
// "no primary" (a failover under way) only for a fifth of it, so the new primary is learnt
// within tens of milliseconds of its publication. One caller fetches at a time, without
// holding the lock; the others take the answer they have meanwhile. An answer about an older
// record (a lower epoch than one already seen: a monitor that has not caught up) is ignored.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "clients/db/db_pool.hpp"

namespace medgate::db {

class MonitorTopology final : public TopologySource {
 public:
  explicit MonitorTopology(std::vector<std::string> urls,
                           std::chrono::milliseconds timeout = std::chrono::milliseconds(500),
                           std::chrono::milliseconds ttl = std::chrono::milliseconds(250));
  [[nodiscard]] Answer primary() override;

  // Reads a /primary answer (exposed for tests).
  [[nodiscard]] static Answer parse(long status, const std::string& body);

 private:
  [[nodiscard]] Answer fetch(uint64_t newest_seen) const;

  std::vector<std::string> urls_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::condition_variable fetched_cv_;
  bool fetching_ = false;
  Answer cached_;
  uint64_t newest_epoch_ = 0;
  std::chrono::steady_clock::time_point fetched_{};
};

}  // namespace medgate::db
