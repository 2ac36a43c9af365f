// The audit log: one JSON line per call about a patient's records (which component, who,
// with which roles, which patient, which route and method, read or write, allowed or denied,
// the status, the request id, the time), apart from the access log. medgate and the services
// write the same format, so `medgate-audit` reads any of their files; a call that went
// through medgate leaves a line in each, with the same request id.
//
// The file is created 0600, opened for appending only, and rotated by size
// (`<name>.1.<ext>` is the newest rotated file). Lines are written by a background thread,
// so a request never waits on the disk; nothing is dropped when the queue is full (the
// request waits instead).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/auth_config.hpp"  // AuditLogSettings
#include "auth/principal.hpp"

namespace spdlog {
class logger;
namespace details {
class thread_pool;
}
}  // namespace spdlog

namespace medgate::auth {

// One decided call. Views: they need to live only for the call to audit_line()/record().
struct AuditEntry {
  std::string_view component;  // "medgate", "medical", "administrative"
  std::string_view request_id;
  std::string_view subject;  // empty: no valid token
  RoleSet roles;
  std::string_view patient;  // canonical RUT; empty: none named
  std::string_view method;
  std::string_view route;  // the route's label or pattern
  std::string_view path;   // canonical path
  bool denied = false;     // refused by the access rules (401/403)
  unsigned status = 0;
};

// One audit line (the JSON object, no newline).
[[nodiscard]] std::string audit_line(const AuditEntry& e, std::chrono::system_clock::time_point at);

class AuditLog {
 public:
  // Throws std::runtime_error when the file cannot be created.
  explicit AuditLog(const AuditLogSettings& settings);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Thread-safe.
  void record(const AuditEntry& e);
  void flush();

 private:
  std::shared_ptr<spdlog::details::thread_pool> pool_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace medgate::auth
