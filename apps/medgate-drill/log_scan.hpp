// When did the failure first appear in a log? Scans what the stack's components wrote to
// their logs during the drill (the local stack's log directory: spdlog lines with ISO
// timestamps, the monitors' JSONL events) for the first warning, error, 5xx request line or
// failure event.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace medgate::drill {

struct LogLine {
  int64_t wall_ms = 0;
  std::string file;  // its name, without the directory
  std::string text;  // the line, cut to 300 bytes
};

// Whether a log line reports a failure, and when it was written (Unix epoch ms).
[[nodiscard]] std::optional<int64_t> failure_line_time(std::string_view line);

class LogScan {
 public:
  // Remembers how long each log in `dir` (and the monitors' event logs below it) is now.
  explicit LogScan(std::string dir, std::vector<std::string> event_logs);
  // Every failure line written since, in order of time.
  [[nodiscard]] std::vector<LogLine> failures_since_start() const;

 private:
  std::string dir_;
  std::vector<std::string> event_logs_;
  std::map<std::string, uintmax_t> start_sizes_;
};

}  // namespace medgate::drill
