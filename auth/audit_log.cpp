#include "auth/audit_log.hpp"

#include "text/iso_time.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace medgate::auth {

namespace {

bool is_safe_method(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS";
}

void append_string(std::string& out, std::string_view s) {
  out += boost::json::serialize(boost::json::string(s));
}

}  // namespace

std::string audit_line(const AuditEntry& e, std::chrono::system_clock::time_point at) {
  const std::string when = text::iso8601_utc(at);
  std::string line;
  line.reserve(360);
  line += "{\"time\":\"";
  line += when;
  line += "\",\"component\":";
  append_string(line, e.component);
  line += ",\"request_id\":";
  append_string(line, e.request_id);
  line += ",\"subject\":";
  append_string(line, e.subject.empty() ? "(none)" : e.subject);
  line += ",\"roles\":";
  append_string(line, e.roles.str());
  line += ",\"patient\":";
  append_string(line, e.patient.empty() ? "(not named)" : e.patient);
  line += ",\"method\":";
  append_string(line, e.method);
  line += ",\"action\":";
  append_string(line, is_safe_method(e.method) ? "read" : "write");
  line += ",\"route\":";
  append_string(line, e.route);
  line += ",\"path\":";
  append_string(line, e.path.substr(0, 512));
  line += ",\"decision\":";
  append_string(line, e.denied ? "denied" : "allowed");
  line += ",\"status\":" + std::to_string(e.status);
  line += ",\"outcome\":";
  append_string(line, e.denied          ? "refused"
                      : e.status < 400  ? "served"
                      : e.status == 504 ? "unknown"
                      : e.status < 500  ? "rejected"
                                        : "failed");
  line += '}';
  return line;
}

AuditLog::AuditLog(const AuditLogSettings& settings) {
  // Created before spdlog opens it, so that it is private to this user from the start.
  const int fd = ::open(settings.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error("cannot open audit log " + settings.path + ": " +
                             std::strerror(errno));
  ::close(fd);
  pool_ = std::make_shared<spdlog::details::thread_pool>(8192, 1);
  auto sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
      settings.path, static_cast<size_t>(settings.max_bytes),
      static_cast<size_t>(settings.max_files));
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

void AuditLog::record(const AuditEntry& e) {
  log_->info(audit_line(e, std::chrono::system_clock::now()));
}

void AuditLog::flush() {
  if (log_)
    log_->flush();
}

}  // namespace medgate::auth
