#include "db-monitors/event_log.hpp"

#include <cstdlib>

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

// A value as it reads in key=value: bare when it is a plain word, else JSON-quoted (which
// also escapes quotes and control characters).
void append_value(std::string& out, const boost::json::value& v) {
  if (v.is_string()) {
    const std::string_view text = v.get_string();
    const bool plain = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
      return static_cast<unsigned char>(c) > 0x20 && c != '"' && c != '\\' && c != 0x7f;
    });
    out += plain ? std::string(text) : boost::json::serialize(v);
    return;
  }
  out += boost::json::serialize(v);
}

}  // namespace

std::string readable_event_line(const boost::json::object& event) {
  std::string out;
  auto str = [&](std::string_view key) -> std::string_view {
    const auto* v = event.if_contains(key);
    return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
  };
  out += str("ts");
  out += ' ';
  out += str("cluster");
  out += ' ';
  out += str("event");
  for (const auto& kv : event) {
    const std::string_view key = kv.key();
    if (key == "ts" || key == "wall_ms" || key == "mono_ms" || key == "cluster" || key == "event" ||
        key == "seq")
      continue;
    out += ' ';
    out += key;
    out += '=';
    append_value(out, kv.value());
  }
  return out;
}

EventLog::EventLog(std::string cluster, const std::string& path, size_t keep, std::FILE* echo)
    : cluster_(std::move(cluster)), keep_(keep), echo_(echo) {
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

void EventLog::crash_after(const std::string& steps) {
  std::lock_guard lock(mu_);
  crash_after_.clear();
  crash_seen_ = 0;
  size_t from = 0;
  while (from <= steps.size()) {
    const size_t comma = std::min(steps.find(',', from), steps.size());
    if (comma > from)
      crash_after_.push_back(steps.substr(from, comma - from));
    from = comma + 1;
  }
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
  if (echo_) {
    const std::string readable = readable_event_line(line) + "\n";
    std::fputs(readable.c_str(), echo_);
    std::fflush(echo_);
  }
  if (crash_seen_ < crash_after_.size() && event.type == crash_after_[crash_seen_] &&
      ++crash_seen_ == crash_after_.size())
    std::_Exit(70);  // the fault-injection hook: as if killed right after this step
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
