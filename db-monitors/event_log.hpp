// EventSink that stamps each event with both clocks and the cluster, appends it as one JSON
// line to a file (flushed at once: "failure logged" is measured from these lines) and to
// standard error, and keeps the last `keep` events for GET /events. Thread-safe.
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

class EventLog final : public EventSink {
 public:
  // `path` empty: no file. Throws when the file cannot be opened.
  EventLog(std::string cluster, const std::string& path, size_t keep = 1000, bool to_stderr = true);
  ~EventLog() override;
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  void emit(Event event) override;
  // Events with sequence number > `after`, oldest first, at most `limit`.
  [[nodiscard]] std::vector<boost::json::object> since(uint64_t after, size_t limit) const;
  [[nodiscard]] uint64_t last_seq() const;
  // Per type, how many were emitted (for metrics).
  [[nodiscard]] std::vector<std::pair<std::string, uint64_t>> counts() const;

 private:
  std::string cluster_;
  std::FILE* file_ = nullptr;
  size_t keep_;
  bool to_stderr_;
  mutable std::mutex mu_;
  std::deque<boost::json::object> recent_;
  uint64_t seq_ = 0;
  std::vector<std::pair<std::string, uint64_t>> counts_;
};

}  // namespace medgate::dbmon
