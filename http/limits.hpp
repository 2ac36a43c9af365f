// What a server allows a connection: sizes, times, how many, and how it stops.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace medgate::httpd {

struct Limits {
  size_t max_header_bytes = 16 * 1024;               // larger -> 431
  uint64_t max_body_bytes = 1024 * 1024;             // larger -> 413
  std::chrono::milliseconds header_timeout{10'000};  // also the keep-alive idle limit
  std::chrono::milliseconds body_timeout{10'000};
  std::chrono::milliseconds write_timeout{10'000};
  uint32_t max_connections = 10'000;  // beyond: closed at accept
  std::chrono::milliseconds drain_timeout{10'000};
  std::chrono::milliseconds drain_idle_grace{0};
};

}  // namespace medgate::httpd
