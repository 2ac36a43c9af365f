// Times as logs and reports write them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace medgate::text {

// "2026-12-05T10:15:30.123Z": UTC, to the millisecond, for `unix_ms` since the epoch.
[[nodiscard]] std::string iso8601_utc(int64_t unix_ms);
[[nodiscard]] std::string iso8601_utc(std::chrono::system_clock::time_point at);

}  // namespace medgate::text
