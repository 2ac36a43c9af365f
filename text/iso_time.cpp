#include "text/iso_time.hpp"

#include <cstdio>
#include <ctime>

namespace medgate::text {

std::string iso8601_utc(int64_t unix_ms) {
  // Floor division: a time before the epoch still gets milliseconds in 0..999.
  const int64_t secs = unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000);
  const auto millis = static_cast<int>(unix_ms - secs * 1000);
  const auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string iso8601_utc(std::chrono::system_clock::time_point at) {
  return iso8601_utc(
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count());
}

}  // namespace medgate::text
