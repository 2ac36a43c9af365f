#include "gateway/audit_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/rotating_file_sink.h>

#include "gateway/http_util.hpp"

namespace medgate::gateway {

std::string audit_line(const RequestInfo& info, std::string_view method, std::string_view route,
                       unsigned status, std::chrono::system_clock::time_point at) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char when[96];
  std::snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  std::string line;
  line.reserve(320);
  line += "{\"time\":\"";
  line += when;
  line += "\",\"request_id\":";
  append_json_string(line, info.request_id);
  line += ",\"subject\":";
  append_json_string(line, info.subject.empty() ? "(none)" : info.subject);
  line += ",\"roles\":";
  append_json_string(line, info.roles.str());
  line += ",\"patient\":";
  append_json_string(line, info.patient.empty() ? "(not named)" : info.patient);
  line += ",\"method\":";
  append_json_string(line, method);
  line += ",\"action\":";
  append_json_string(line, is_safe_method(method) ? "read" : "write");
  line += ",\"route\":";
  append_json_string(line, route);
  line += ",\"path\":";
  append_json_string(line, std::string_view(info.path).substr(0, 512));
  line += ",\"decision\":";
  append_json_string(line, info.denied ? "denied" : "allowed");
  line += ",\"status\":" + std::to_string(status);
  line += ",\"outcome\":";
  append_json_string(line, info.denied     ? "refused"
                           : status < 400  ? "served"
                           : status == 504 ? "unknown"
                           : status < 500  ? "rejected"
                                           : "failed");
  line += '}';
  return line;
}

AuditLog::AuditLog(const AuditLogConfig& cfg) {
  // Created before spdlog opens it, so that it is private to this user from the start.
  const int fd = ::open(cfg.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error("cannot open audit log " + cfg.path + ": " + std::strerror(errno));
  ::close(fd);
  pool_ = std::make_shared<spdlog::details::thread_pool>(8192, 1);
  auto sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
      cfg.path, static_cast<size_t>(cfg.max_bytes), static_cast<size_t>(cfg.max_files));
  log_ = std::make_shared<spdlog::async_logger>("audit", std::move(sink), pool_,
                                                spdlog::async_overflow_policy::block);
  log_->set_pattern("%v");
  log_->flush_on(spdlog::level::info);
}

AuditLog::~AuditLog() {
  flush();
  // The worker thread first (the pool joins it once its queue is empty), then the logger
  // and its file: never a sink freed while the worker may still touch it.
  pool_.reset();
  log_.reset();
}

void AuditLog::record(const RequestInfo& info, std::string_view method, std::string_view route,
                      unsigned status) {
  log_->info(audit_line(info, method, route, status, std::chrono::system_clock::now()));
}

void AuditLog::flush() {
  if (log_)
    log_->flush();
}

}  // namespace medgate::gateway
