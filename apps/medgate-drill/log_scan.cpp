#include "apps/medgate-drill/log_scan.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>

namespace medgate::drill {
namespace fs = std::filesystem;
namespace {

// "2026-11-30T02:15:37.712+00:00" or "...712Z" at the start of `s`: Unix epoch ms.
std::optional<int64_t> parse_iso(std::string_view s) {
  if (s.size() < 23 || s[4] != '-' || s[10] != 'T' || s[19] != '.')
    return std::nullopt;
  auto num = [&](size_t at, size_t n) -> int {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9')
        return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  const int ms = num(20, 3);
  if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mday < 0 || tm.tm_hour < 0 || tm.tm_min < 0 ||
      tm.tm_sec < 0 || ms < 0)
    return std::nullopt;
  int64_t t = static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
  // An offset: "+hh:mm" / "-hh:mm" after the milliseconds.
  if (s.size() >= 29 && (s[23] == '+' || s[23] == '-') && s[26] == ':') {
    const int off = (num(24, 2) * 60 + num(27, 2)) * 60 * 1000;
    t += s[23] == '+' ? -off : off;
  }
  return t;
}

// The monitors' event logs share a name: keep their directory (mariadb-monitor/events.jsonl).
std::string label(const fs::path& f) {
  return f.extension() == ".jsonl" ? (f.parent_path().filename() / f.filename()).string()
                                   : f.filename().string();
}

}  // namespace

std::optional<int64_t> failure_line_time(std::string_view line) {
  // A monitor event: {"ts":"...","wall_ms":N,...,"event":"unreachable",...}
  if (line.starts_with("{\"ts\":")) {
    static constexpr std::string_view kFailures[] = {
        "\"event\":\"check_failed\"",   "\"event\":\"unreachable\"", "\"event\":\"suspect\"",
        "\"event\":\"confirmed_down\"", "\"event\":\"node_down\"",   "\"event\":\"check_refused\""};
    if (std::none_of(std::begin(kFailures), std::end(kFailures),
                     [&](std::string_view f) { return line.find(f) != std::string_view::npos; }))
      return std::nullopt;
    return parse_iso(line.substr(7));
  }
  // spdlog: "<ISO> <level> <message>"
  const size_t sp = line.find(' ');
  if (sp == std::string_view::npos)
    return std::nullopt;
  const std::string_view rest = line.substr(sp + 1);
  const bool bad_level =
      rest.starts_with("warning ") || rest.starts_with("error ") || rest.starts_with("critical ");
  const bool server_error = rest.find("\"status\":5") != std::string_view::npos;
  if (!bad_level && !server_error)
    return std::nullopt;
  return parse_iso(line);
}

LogScan::LogScan(std::string dir, std::vector<std::string> event_logs)
    : dir_(std::move(dir)), event_logs_(std::move(event_logs)) {
  std::error_code ec;
  if (!dir_.empty())
    for (const auto& e : fs::directory_iterator(dir_, ec))
      if (e.is_regular_file() && e.path().extension() == ".log")
        start_sizes_[e.path().string()] = e.file_size();
  for (const auto& f : event_logs_)
    start_sizes_[f] = fs::file_size(f, ec);
}

std::vector<LogLine> LogScan::failures_since_start() const {
  std::vector<std::string> files = event_logs_;
  std::error_code ec;
  if (!dir_.empty())
    for (const auto& e : fs::directory_iterator(dir_, ec))
      if (e.is_regular_file() && e.path().extension() == ".log")
        files.push_back(e.path().string());
  std::vector<LogLine> out;
  for (const auto& f : files) {
    std::ifstream in(f);
    if (!in)
      continue;
    const auto it = start_sizes_.find(f);
    // A file that shrank was rotated or restarted: read it whole.
    uintmax_t from = it == start_sizes_.end() ? 0 : it->second;
    if (from > fs::file_size(f, ec))
      from = 0;
    in.seekg(static_cast<std::streamoff>(from));
    std::string line;
    while (std::getline(in, line))
      if (auto t = failure_line_time(line))
        out.push_back({.wall_ms = *t, .file = label(f), .text = line.substr(0, 300)});
  }
  std::sort(out.begin(), out.end(),
            [](const LogLine& a, const LogLine& b) { return a.wall_ms < b.wall_ms; });
  return out;
}

}  // namespace medgate::drill
