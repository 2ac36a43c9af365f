#include "db-monitors/event_log.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include <algorithm>

#include <boost/json.hpp>

namespace medgate::dbmon {

namespace {

std::string iso8601_ms(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

EventLog::EventLog(std::string cluster, const std::string& path, size_t keep, bool to_stderr)
    : cluster_(std::move(cluster)), keep_(keep), to_stderr_(to_stderr) {
  if (!path.empty()) {
    file_ = std::fopen(path.c_str(), "a");
    if (!file_)
      throw std::runtime_error("cannot open event log " + path + ": " + std::strerror(errno));
  }
}

EventLog::~EventLog() {
  if (file_)
    std::fclose(file_);
}

void EventLog::emit(Event event) {
  const auto wall = std::chrono::system_clock::now();
  const auto mono = std::chrono::steady_clock::now();
  boost::json::object line;
  line["ts"] = iso8601_ms(wall);
  line["wall_ms"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
  line["mono_ms"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(mono.time_since_epoch()).count();
  line["cluster"] = cluster_;
  line["event"] = event.type;
  if (!event.node.empty())
    line["node"] = event.node;
  for (auto& kv : event.fields)
    line[kv.key()] = std::move(kv.value());
  std::lock_guard lock(mu_);
  line["seq"] = ++seq_;
  const std::string text = boost::json::serialize(line) + "\n";
  if (file_) {
    std::fputs(text.c_str(), file_);
    std::fflush(file_);
  }
  if (to_stderr_)
    std::fputs(text.c_str(), stderr);
  recent_.push_back(std::move(line));
  while (recent_.size() > keep_)
    recent_.pop_front();
  auto it = std::find_if(counts_.begin(), counts_.end(),
                         [&](const auto& c) { return c.first == event.type; });
  if (it == counts_.end())
    counts_.emplace_back(event.type, 1);
  else
    ++it->second;
}

std::vector<boost::json::object> EventLog::since(uint64_t after, size_t limit) const {
  std::lock_guard lock(mu_);
  std::vector<boost::json::object> out;
  for (const auto& e : recent_) {
    if (e.at("seq").to_number<uint64_t>() > after)
      out.push_back(e);
  }
  if (out.size() > limit)
    out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(limit));
  return out;
}

uint64_t EventLog::last_seq() const {
  std::lock_guard lock(mu_);
  return seq_;
}

std::vector<std::pair<std::string, uint64_t>> EventLog::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

}  // namespace medgate::dbmon
