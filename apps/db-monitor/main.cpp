// db-monitor: watches one replicated database cluster, promotes a replica when the primary
// is confirmed gone, fences any other writer, and publishes the topology.
//
//   db-monitor --config FILE [--check-config]
//   db-monitor role --config FILE --node NAME [--shell]
//       Prints the stored topology's view of NODE (from etcd when configured, else the state
//       file, read without the monitor's lock), as JSON
//       {"role": "primary" | "standby" | "unknown", "epoch": N, "primary": {...}} or, with
//       --shell, as key=value lines (role, epoch, primary_name, primary_host, primary_port).
//       Start wrappers use it to decide how a node may start (scripts/lib/pg-node-start).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <boost/json.hpp>

#include "clients/db/mariadb_driver.hpp"
#include "clients/db/postgres_driver.hpp"
#include "db-monitors/etcd_store.hpp"
#include "db-monitors/file_store.hpp"
#include "db-monitors/http_api.hpp"
#include "db-monitors/monitor.hpp"
#include "db-monitors/monitor_config.hpp"
#include "db-monitors/mysql_engine.hpp"
#include "db-monitors/node_role.hpp"
#include "db-monitors/postgres_engine.hpp"
#include "http/server.hpp"
#include "http/stop_signals.hpp"
#include "resilience/clock.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace {

using namespace medgate;
using namespace medgate::dbmon;

int usage() {
  std::fprintf(stderr,
               "usage: db-monitor --config FILE [--check-config]\n"
               "       db-monitor role --config FILE --node NAME [--shell]\n");
  return 2;
}

class NoEvents final : public EventSink {
 public:
  void emit(Event) override {}
};

std::unique_ptr<TopologyStore> open_store(const MonitorConfig& cfg, bool act, EventSink& events,
                                          const resilience::Clock& clock) {
  if (!cfg.etcd.endpoints.empty())
    return std::make_unique<EtcdTopologyStore>(cfg.etcd, events, clock, act);
  return std::make_unique<FileTopologyStore>(
      cfg.state_file, act ? FileTopologyStore::Mode::act : FileTopologyStore::Mode::read_only);
}

// A stack that ran one monitor on its state file and now runs several on etcd: the record
// moves to etcd once, so the first monitor to act starts from the cluster's real topology
// (a failover's outcome included), not from a bootstrap.
void seed_etcd_from_state_file(const MonitorConfig& cfg, TopologyStore& store,
                               spdlog::logger& log) {
  if (cfg.etcd.endpoints.empty() || cfg.state_file.empty() ||
      !std::filesystem::exists(cfg.state_file))
    return;
  const auto file_record =
      FileTopologyStore(cfg.state_file, FileTopologyStore::Mode::read_only).load();
  if (!file_record)
    return;
  const auto until = std::chrono::steady_clock::now() + cfg.etcd.ttl + cfg.etcd.renew_every * 2;
  while (std::chrono::steady_clock::now() < until) {
    try {
      if (store.load())
        return;  // etcd has a record: it is the truth from now on
      if (store.may_act()) {
        if (store.compare_and_set(0, *file_record))
          log.info("topology record (epoch {}) moved from {} to etcd", file_record->epoch,
                   cfg.state_file);
        return;
      }
    } catch (const std::exception& e) {
      log.warn("moving the state file's record to etcd: {}", e.what());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

int print_role(const MonitorConfig& cfg, const std::string& node, bool shell) {
  std::vector<NodeSpec> specs;
  for (const auto& n : cfg.monitor.nodes)
    specs.push_back(n.spec);
  NoEvents none;
  resilience::SteadyClock clock;
  const auto store = open_store(cfg, false, none, clock);
  NodeRole role;
  try {
    role = node_role(store->load(), specs, node);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "db-monitor: %s\n", e.what());
    return 2;
  }
  const std::string out = shell ? to_shell(role) : boost::json::serialize(to_json(role)) + "\n";
  std::fputs(out.c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path, node;
  bool check_only = false, role = false, shell = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--config" && i + 1 < argc)
      path = argv[++i];
    else if (a == "--node" && i + 1 < argc)
      node = argv[++i];
    else if (a == "--check-config")
      check_only = true;
    else if (a == "--shell" && role)
      shell = true;
    else if (a == "role" && i == 1)
      role = true;
    else
      return usage();
  }
  if (path.empty() || (role && node.empty()))
    return usage();
  MonitorConfig cfg;
  try {
    cfg = load_monitor_config(path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "db-monitor: invalid configuration: %s\n", e.what());
    return 1;
  }
  if (check_only) {
    std::printf("%s: configuration is valid\n", path.c_str());
    return 0;
  }
  try {
    if (role)
      return print_role(cfg, node, shell);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "db-monitor: %s\n", e.what());
    return 1;
  }

  const httpd::StopSignals stop;  // before any thread starts

  auto log = std::make_shared<spdlog::logger>(cfg.monitor.cluster + "-monitor",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  // The HTTP service's own log: its errors always, a line per request only when asked (the
  // services poll /primary, which would bury the monitor's events).
  auto http_log = log->clone(cfg.monitor.cluster + "-monitor-http");
  if (!cfg.access_log)
    http_log->set_level(spdlog::level::warn);
  try {
    const auto io_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(cfg.monitor.action_timeout, cfg.monitor.apply_timeout) + std::chrono::seconds(2));
    std::shared_ptr<db::DbDriver> driver;
    std::shared_ptr<Engine> engine;
    switch (cfg.engine) {
      case EngineKind::postgresql:
        driver = std::make_shared<db::PostgresDriver>(io_timeout);
        engine = std::make_shared<PostgresEngine>(cfg.replication);
        break;
      case EngineKind::mysql8:
        driver = std::make_shared<db::MariadbDriver>(db::MysqlDialect::mysql8, io_timeout);
        engine = std::make_shared<MysqlEngine>(db::MysqlDialect::mysql8, cfg.replication);
        break;
      case EngineKind::mariadb:
        driver = std::make_shared<db::MariadbDriver>(db::MysqlDialect::mariadb, io_timeout);
        engine = std::make_shared<MysqlEngine>(db::MysqlDialect::mariadb, cfg.replication);
        break;
    }
    EventLog events(cfg.monitor.cluster, cfg.event_log);
    if (const char* step = std::getenv("DB_MONITOR_CRASH_AFTER"); step && *step) {
      log->warn("fault injection: exiting after the first '{}' event", step);
      events.crash_after(step);
    }
    resilience::SteadyClock clock;
    auto store = open_store(cfg, true, events, clock);
    seed_etcd_from_state_file(cfg, *store, *log);
    Monitor monitor(cfg.monitor, engine, driver, std::move(store), events, clock);
    MonitorApi api(
        monitor_routes(monitor, events, cfg.api_token,
                       std::make_shared<RecordReader>(open_store(cfg, false, events, clock))),
        http_log);
    httpd::Server http(
        {.threads = 1,
         .limits = {.max_body_bytes = 64 * 1024, .drain_timeout = std::chrono::seconds(2)},
         .listeners = {{.address = cfg.listen_address, .port = cfg.listen_port}},
         .warn = [log](const std::string& line) { log->warn("{}", line); }},
        api);
    http.start();
    monitor.start();
    log->info("monitoring cluster {} ({}) on {}:{}{}", cfg.monitor.cluster, engine->name(),
              cfg.listen_address, http.port(),
              cfg.etcd.endpoints.empty() ? " (state file: the only monitor)"
                                         : " as " + cfg.etcd.member + " (etcd: one acts)");
    const int sig = stop.wait();
    log->info("signal {}: stopping", sig);
    http.drain();
    http.wait();
    monitor.stop();
  } catch (const std::exception& e) {
    log->error("{}", e.what());
    return 1;
  }
  return 0;
}
