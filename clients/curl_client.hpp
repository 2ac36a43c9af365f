// Small synchronous HTTP client on libcurl, for tools (drill runner, monitors, tests).
// Blocking: never call it from an io_context thread.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace medgate::clients {

struct CurlResponse {
  long status = 0;  // 0 when no response arrived
  std::string body;
  std::string error;  // libcurl's message when the transfer failed
  std::vector<std::pair<std::string, std::string>> headers;  // lower-cased names
  std::chrono::microseconds elapsed{0};

  [[nodiscard]] bool ok() const { return error.empty(); }
  [[nodiscard]] std::string header(std::string_view name) const;
};

struct CurlRequest {
  std::string method = "GET";
  std::string url;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{5000};
  size_t max_body = 16 * 1024 * 1024;
  // https: the CA file to trust (else the system's), and the newest TLS version to offer
  // ("1.1", "1.2", "1.3"; empty = libcurl's default).
  std::string ca_file;
  std::string tls_max;
  // When set, the transfer is abandoned soon after it turns true (libcurl looks at least
  // once a second): how a thread in a long poll is stopped.
  const std::atomic<bool>* cancel = nullptr;
};

[[nodiscard]] CurlResponse curl_perform(const CurlRequest& request);

}  // namespace medgate::clients
