// TopologySource over the database monitors' HTTP API (GET /primary of db-monitor): 200 names
// the primary, 503 says none takes writes, anything else means the monitor did not answer.
// With several monitors of one cluster (on etcd, any of them answers from the shared record)
// they are asked in turn until one answers.
//
// With `watch`, a thread per monitor long-polls it and primary() answers from what they
// learnt. Without (or while no watcher hears from its monitor): answers are kept for `ttl`,
// so a busy pool asks a few times a second at most; an answer of
// "no primary" (a failover under way) only for a fifth of it, so the new primary is learnt
// within tens of milliseconds of its publication. One caller fetches at a time, without
// holding the lock; the others take the answer they have meanwhile. An answer about an older
// record (a lower epoch than one already seen: a monitor that has not caught up) is ignored.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "clients/db/db_pool.hpp"

namespace medgate::db {

class MonitorTopology final : public TopologySource {
 public:
  // `watch` > 0: a thread per monitor long-polls it (GET /primary?known=…&wait_ms=watch), and
  // primary() answers from what they learnt (no request of its own) while one of them has
  // heard from its monitor within watch + timeout.
  explicit MonitorTopology(std::vector<std::string> urls,
                           std::chrono::milliseconds timeout = std::chrono::milliseconds(500),
                           std::chrono::milliseconds ttl = std::chrono::milliseconds(250),
                           std::chrono::milliseconds watch = std::chrono::milliseconds(0));
  ~MonitorTopology() override;
  MonitorTopology(const MonitorTopology&) = delete;
  MonitorTopology& operator=(const MonitorTopology&) = delete;
  [[nodiscard]] Answer primary() override;

  // Reads a /primary answer (exposed for tests).
  [[nodiscard]] static Answer parse(long status, const std::string& body);

 private:
  [[nodiscard]] Answer fetch(uint64_t newest_seen) const;
  // A /primary answer with what the long poll needs: the answer's version and whether the
  // monitor that gave it acts. Any malformed answer is unreachable, never an exception.
  struct Reply {
    Answer answer;
    std::string version;
    bool acting = true;
  };
  [[nodiscard]] static Reply read_reply(long status, const std::string& body);
  void watch_one(const std::string& url);
  // Takes a watcher's answer unless an acting monitor said otherwise about the same record.
  void learn(const Answer& a, bool from_acting);

  std::vector<std::string> urls_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::condition_variable fetched_cv_;
  bool fetching_ = false;
  Answer cached_;
  uint64_t newest_epoch_ = 0;
  std::chrono::steady_clock::time_point fetched_{};
  std::chrono::milliseconds watch_;
  bool stopping_ = false;            // under mu_
  std::atomic<bool> cancel_{false};  // ends the watchers' long polls
  std::condition_variable stop_cv_;
  std::chrono::steady_clock::time_point watched_{};  // a watcher's last answer
  bool cached_from_acting_ = false;
  std::vector<std::thread> watchers_;  // last: they start once everything else is set
};

}  // namespace medgate::db
