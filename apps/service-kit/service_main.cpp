#include "apps/service-kit/service_main.hpp"

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <stop_token>
#include <thread>

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "apps/service-kit/idempotency.hpp"
#include "apps/service-kit/service_guard.hpp"
#include "http/stop_signals.hpp"

namespace medgate::service {

namespace {

// Written by a background thread: request threads only queue lines, never wait on stderr.
// The pool must outlive the logger (spdlog holds it weakly).
std::shared_ptr<spdlog::logger> make_log(
    const std::string& name, const std::shared_ptr<spdlog::details::thread_pool>& pool) {
  auto log = std::make_shared<spdlog::async_logger>(
      name, std::make_shared<spdlog::sinks::stderr_sink_mt>(), pool,
      spdlog::async_overflow_policy::block);
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  log->flush_on(spdlog::level::info);
  return log;
}

// Deletes expired idempotency keys every `idempotency_cleanup` on its own thread, until
// destroyed. A failure is logged and tried again at the next round.
class KeyExpiry {
 public:
  KeyExpiry(db::DbPool& pool, const ServiceConfig& cfg, spdlog::logger& log)
      : thread_([&pool, &log, dialect = cfg.dialect(), ttl = cfg.idempotency_ttl,
                 every = cfg.idempotency_cleanup](std::stop_token stop) {
          std::mutex mu;
          std::condition_variable_any cv;
          for (;;) {
            {
              std::unique_lock lock(mu);
              if (cv.wait_for(lock, stop, every, [] { return false; }) || stop.stop_requested())
                return;
            }
            try {
              constexpr size_t kBatch = 1000;
              size_t total = 0;
              size_t deleted = 0;
              do {
                deleted = expire_idempotency_keys(pool, dialect, ttl, kBatch);
                total += deleted;
              } while (deleted == kBatch && !stop.stop_requested());
              if (total > 0)
                log.info("expired {} idempotency keys older than {} s", total, ttl.count());
            } catch (const std::exception& e) {
              log.warn("idempotency key expiry failed: {}", e.what());
            }
          }
        }) {}

 private:
  std::jthread thread_;
};

}  // namespace

boost::asio::awaitable<Response> health_reply(db::DbPool& pool, const std::string& service,
                                              const RequestContext& ctx) {
  // Answered within the caller's budget (medgate's checks send their timeout), 2 s without
  // one: a hung database makes this a quick 503, never a hung probe.
  const auto now = std::chrono::steady_clock::now();
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
      ctx.deadline ? std::max(*ctx.deadline - now, std::chrono::steady_clock::duration::zero())
                   : std::chrono::seconds(2));
  const std::optional<db::DbPool::Health> checked = co_await pool.check_within(wait);
  const auto stats = pool.stats();
  if (!checked) {
    const boost::json::object body{{"status", "down"},
                                   {"service", service},
                                   {"database",
                                    {{"status", "not_answering"},
                                     {"open_connections", stats.open},
                                     {"error", "no answer from the database within " +
                                                   std::to_string(wait.count()) + " ms"}}}};
    auto res = json_reply(ctx.request, 503, boost::json::serialize(body));
    res.set(http::field::retry_after, "1");
    co_return res;
  }
  const db::DbPool::Health& health = *checked;
  // Reads still served from a read-only node (a failover in progress, a fenced primary):
  // degraded but alive, so medgate keeps sending reads here.
  const char* db_status = health.writable ? "ok" : health.readable ? "read_only" : "unavailable";
  boost::json::object database{{"status", db_status}, {"open_connections", stats.open}};
  if (stats.primary)
    database["primary"] = *stats.primary;
  if (!health.writable)
    database["error"] = health.error;
  const char* status = health.writable ? "ok" : health.readable ? "degraded" : "down";
  const boost::json::object body{{"status", status}, {"service", service}, {"database", database}};
  co_return json_reply(ctx.request, health.readable ? 200 : 503, boost::json::serialize(body));
}

int service_main(int argc, char** argv, const ServiceDefinition& def) {
  std::string prog = argc > 0 ? argv[0] : def.name;
  if (const auto slash = prog.rfind('/'); slash != std::string::npos)
    prog = prog.substr(slash + 1);
  std::string path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--config" && i + 1 < argc)
      path = argv[++i];
    else if (a == "--check-config")
      check_only = true;
    else {
      std::fprintf(stderr, "usage: %s --config FILE [--check-config]\n", prog.c_str());
      return 2;
    }
  }
  if (path.empty()) {
    std::fprintf(stderr, "usage: %s --config FILE [--check-config]\n", prog.c_str());
    return 2;
  }
  ServiceConfig cfg;
  try {
    cfg = load_service_config(path, def.default_port, !def.access_rules.empty(), def.read_extra);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: invalid configuration: %s\n", prog.c_str(), e.what());
    return 1;
  }
  if (check_only) {
    std::printf("%s: configuration is valid\n", path.c_str());
    return 0;
  }

  const httpd::StopSignals stop;  // before any thread starts

  // Declared before the pool so it is destroyed after it: the pool's destructor joins the
  // logging thread (which may still be formatting the last lines) before the logger and
  // its sinks go away.
  std::shared_ptr<spdlog::logger> log;
  const auto log_pool = std::make_shared<spdlog::details::thread_pool>(8192, 1);
  log = make_log(def.name, log_pool);
  db::DbPool pool(cfg.make_driver(), cfg.pool,
                  [log](const std::string& line) { log->warn("database: {}", line); });
  // The database may still be starting (or failing over): keep trying for a minute.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  for (;;) {
    try {
      const auto applied = apply_migrations(pool, cfg.dialect(), def.migrations);
      for (int v : applied)
        log->info("applied migration {}", v);
      break;
    } catch (const std::exception& e) {
      if (std::chrono::steady_clock::now() > give_up) {
        log->error("migrations failed, giving up: {}", e.what());
        return 1;
      }
      log->warn("migrations not applied yet: {}", e.what());
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
  std::shared_ptr<const ServiceGuard> guard;
  if (!def.access_rules.empty()) {
    std::shared_ptr<auth::AuditLog> audit;
    if (cfg.audit_log && !cfg.audit_log->path.empty()) {
      try {
        audit = std::make_shared<auth::AuditLog>(*cfg.audit_log);
      } catch (const std::exception& e) {
        log->error("{}", e.what());
        return 1;
      }
    }
    guard = std::make_shared<ServiceGuard>(cfg.auth, def.access_rules,
                                           std::vector<std::string>{"/health"}, std::move(audit),
                                           def.name);
    if (!cfg.auth.enabled)
      log->warn(
          "authentication is OFF (auth.enabled: false): anyone who reaches {}:{} reads "
          "and writes this service's data",
          cfg.listen.address, cfg.listen.port);
  }
  HttpService http(def.name, cfg.listen, cfg.limits, def.routes(pool, cfg), log, guard);
  try {
    http.start();
  } catch (const std::exception& e) {
    log->error("cannot listen on {}:{}: {}", cfg.listen.address, cfg.listen.port, e.what());
    return 1;
  }
  log->info("{} service listening on {}:{}", def.name, cfg.listen.address, http.port());
  KeyExpiry expiry(pool, cfg, *log);
  const int sig = stop.wait();
  log->info("signal {}: stopping", sig);
  http.stop();
  return 0;
}

}  // namespace medgate::service
