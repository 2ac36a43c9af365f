// EventSink that stamps each event with both clocks and the cluster, appends it as one JSON
// line to a file (flushed at once: "failure logged" is measured from these lines), writes it
// as one readable line to `echo` (standard output: what `docker logs` and supervisord show an
// operator), and keeps the last `keep` events for GET /events. Thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "db-monitors/events.hpp"

namespace medgate::dbmon {

// An event as an operator reads it: "<ts> <cluster> <event> node=<node> key=value ...", the
// clocks and the sequence number left out, a value quoted when it has a space, a quote or a
// control character in it. One line, no newline at the end.
[[nodiscard]] std::string readable_event_line(const boost::json::object& event);

class EventLog final : public EventSink {
 public:
  // `path` empty: no file; `echo` null: no readable lines. Throws when the file cannot be
  // opened.
  EventLog(std::string cluster, const std::string& path, size_t keep = 1000,
           std::FILE* echo = stdout);
  ~EventLog() override;
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  void emit(Event event) override;
  // Fault injection for the tests (db-monitor reads DB_MONITOR_CRASH_AFTER): `steps` is a
  // comma-separated list of event types; once they have been emitted in that order (others
  // between them), the process exits at once with status 70, right after writing the last,
  // as a monitor killed between that step and the next would. Empty: never.
  void crash_after(const std::string& steps);
  // Events with sequence number > `after`, oldest first, at most `limit`.
  [[nodiscard]] std::vector<boost::json::object> since(uint64_t after, size_t limit) const;
  [[nodiscard]] uint64_t last_seq() const;
  // Per type, how many were emitted (for metrics).
  [[nodiscard]] std::vector<std::pair<std::string, uint64_t>> counts() const;

 private:
  std::string cluster_;
  std::FILE* file_ = nullptr;
  size_t keep_;
  std::FILE* echo_;
  std::vector<std::string> crash_after_;
  size_t crash_seen_ = 0;
  mutable std::mutex mu_;
  std::deque<boost::json::object> recent_;
  uint64_t seq_ = 0;
  std::vector<std::pair<std::string, uint64_t>> counts_;
};

}  // namespace medgate::dbmon
