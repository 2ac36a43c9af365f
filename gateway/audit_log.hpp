// The audit log: one JSON line per call about a patient's records (who, with which roles,
// which patient, which route and method, read or write, allowed or denied, the status, the
// request id, the time), apart from the access log. The file is created 0600, opened for
// appending only, and rotated by size (`<name>.1.<ext>` is the newest rotated file).
// Lines are written by a background thread, so a request never waits on the disk; nothing
// is dropped when the queue is full (the request waits instead).
#pragma once

#include <memory>
#include <string_view>

#include <spdlog/async.h>
#include <spdlog/logger.h>

#include "gateway/gateway_config.hpp"
#include "gateway/upstream_call.hpp"

namespace medgate::gateway {

class AuditLog {
 public:
  // Throws std::runtime_error when the file cannot be created.
  explicit AuditLog(const AuditLogConfig& cfg);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  void record(const RequestInfo& info, std::string_view method, std::string_view route,
              unsigned status);
  void flush();

 private:
  std::shared_ptr<spdlog::details::thread_pool> pool_;
  std::shared_ptr<spdlog::logger> log_;
};

// One audit line (the JSON object, no newline), for tests and the writer.
[[nodiscard]] std::string audit_line(const RequestInfo& info, std::string_view method,
                                     std::string_view route, unsigned status,
                                     std::chrono::system_clock::time_point at);

}  // namespace medgate::gateway
