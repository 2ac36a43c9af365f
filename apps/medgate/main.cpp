// medgate: the gateway binary.
//   medgate --config FILE           run
//   medgate --config FILE --check-config   validate the configuration and exit
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "auth/secrets.hpp"
#include "clients/name_resolver.hpp"
#include "gateway/dashboard_module.hpp"
#include "gateway/fd_limit.hpp"
#include "gateway/gateway.hpp"
#include "gateway/portal/docs_module.hpp"
#include "gateway/portal/hospital_rules.hpp"
#include "gateway/portal/portal_api.hpp"
#include "gateway/server.hpp"
#include "gateway/state_handover.hpp"
#include "http/stop_signals.hpp"

namespace {

// A file descriptor passed by the launcher in `var` (decimal), or -1. Marked close-on-exec
// so that nothing medgate starts inherits it.
int inherited_fd(const char* var) {
  const char* v = std::getenv(var);
  if (!v || !*v)
    return -1;
  char* end = nullptr;
  const long fd = std::strtol(v, &end, 10);
  if (*end != '\0' || fd < 3 || fd > 1024 || ::fcntl(static_cast<int>(fd), F_GETFD) < 0)
    throw std::runtime_error(std::string(var) + "=" + v + " is not an open file descriptor");
  ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  return static_cast<int>(fd);
}

int usage() {
  std::fprintf(stderr,
               "usage: medgate --config FILE [--check-config]\n"
               "  --config FILE     gateway configuration (YAML, see docs/configuration.md)\n"
               "  --check-config    validate the configuration and exit (0 = valid)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--help" || arg == "-h") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "medgate: unknown argument '%s'\n", arg.c_str());
      return usage();
    }
  }
  if (config_path.empty())
    return usage();

  medgate::gateway::GatewayConfig cfg;
  // The hospital's modules read their own sections of the file.
  medgate::gateway::PortalConfig portal;
  try {
    cfg = medgate::gateway::load_gateway_config(config_path, medgate::config::process_env,
                                                {medgate::gateway::portal_config_section(portal)});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "medgate: invalid configuration: %s\n", e.what());
    return 1;
  }
  if (check_only) {
    std::printf("%s: configuration is valid (%zu upstreams, %zu routes)\n", config_path.c_str(),
                cfg.upstreams.size(), cfg.routes.size());
    return 0;
  }

  // SIGUSR2 (from medgate-launcher, before it starts a successor): write the upstreams'
  // state to MEDGATE_STATE_FILE. Blocked before any thread starts.
  const medgate::httpd::StopSignals stop_signals({SIGUSR2});
  // Logs name requests and the audit log names patients: files medgate creates are its own.
  ::umask(077);

  auto events = std::make_shared<spdlog::logger>("medgate",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  events->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  events->flush_on(spdlog::level::info);  // failures must reach the log at once

  // The access log is written by a background thread so request threads never wait on I/O.
  std::shared_ptr<spdlog::logger> access;
  std::shared_ptr<spdlog::details::thread_pool> log_pool;
  if (cfg.access_log.enabled) {
    log_pool = std::make_shared<spdlog::details::thread_pool>(16384, 1);
    spdlog::sink_ptr sink;
    if (cfg.access_log.path.empty()) {
      sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    } else {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(cfg.access_log.path);
    }
    access = std::make_shared<spdlog::async_logger>("access", sink, log_pool,
                                                    spdlog::async_overflow_policy::block);
    access->set_pattern("%v");
    // Flushing happens on the logger's own thread, so each line reaches the file promptly
    // without a request thread ever waiting on the write.
    access->flush_on(spdlog::level::info);
  }

  const auto fds = medgate::gateway::fit_fd_limit(cfg.limits.max_connections);
  if (!fds.warning.empty())
    events->warn("{}", fds.warning);
  cfg.limits.max_connections = fds.max_connections;

  // Endpoints named by host name (compose: app1, app2-a): looked up before medgate serves,
  // then every 5 s on the resolver's own thread; a connection is never held up by a lookup.
  medgate::clients::NameResolver resolver(
      std::chrono::seconds(5),
      [&events](const std::string& line) { events->info("upstream address: {}", line); });
  for (const auto& u : cfg.upstreams)
    for (const auto& ep : u.endpoints)
      resolver.add(ep.live);
  if (const size_t failed = resolver.resolve_all(); failed > 0)
    events->warn("{} upstream endpoint name(s) did not resolve: they take no traffic until they do",
                 failed);
  resolver.start();

  // Policies read the clock many times per request; they need milliseconds, not nanoseconds.
  medgate::resilience::CoarseSteadyClock clock;
  try {
    // What medgate answers itself beside its own endpoints, in this order: the dashboard,
    // the portal API's docs, the portal API.
    std::vector<std::unique_ptr<medgate::gateway::ApiModule>> modules;
    modules.push_back(medgate::gateway::make_dashboard_module(cfg.dashboard));
    modules.push_back(medgate::gateway::make_portal_docs());
    modules.push_back(medgate::gateway::make_portal_api(portal));
    std::shared_ptr<medgate::gateway::AuditLog> audit;
    if (cfg.auth.verifier.enabled)
      audit = std::make_shared<medgate::gateway::AuditLog>(cfg.audit_log);
    else
      events->warn(
          "authentication is OFF (auth.enabled: false): anyone who reaches {}:{} "
          "reads and writes every patient's data",
          cfg.listen.address, cfg.listen.port);
    medgate::gateway::Gateway gateway(
        cfg, clock, events, std::move(modules),
        {.operator_reader = medgate::gateway::staff_reads_operator_views});
    // Patients' RUTs never reach a log: they become pseudonyms keyed with pseudonym_key
    // (a random key per run when none is configured).
    const std::string pseudonym_key = cfg.access_log.pseudonym_key.empty()
                                          ? medgate::auth::random_token()
                                          : cfg.access_log.pseudonym_key;
    medgate::gateway::Server server(gateway, access, audit, [pseudonym_key](std::string_view text) {
      return medgate::gateway::redact_patients(text, pseudonym_key);
    });
    // Started by medgate-launcher: its listening socket, and a pipe to say "ready" on.
    const int listen_fd = inherited_fd("MEDGATE_LISTEN_FD");
    if (listen_fd >= 0)
      server.adopt_listener(listen_fd);
    // A successor started by medgate-launcher takes over its predecessor's upstream state
    // (unchanged upstreams only) before it takes a request.
    const char* state_file = std::getenv("MEDGATE_STATE_FILE");
    if (state_file && *state_file && std::getenv("MEDGATE_STATE_ADOPT"))
      for (const auto& line :
           medgate::gateway::load_upstream_state(gateway.upstreams(), state_file))
        events->info("state hand-over: {}", line);
    server.start();
    if (const int ready_fd = inherited_fd("MEDGATE_READY_FD"); ready_fd >= 0) {
      (void)!::write(ready_fd, "R", 1);
      ::close(ready_fd);
    }
    events->info("medgate listening on {}:{} with {} threads, {} upstreams, {} routes",
                 cfg.listen.address, server.port(), cfg.threads, cfg.upstreams.size(),
                 cfg.routes.size());
    if (cfg.operator_listen)
      events->info(
          "medgate operator listener on {}:{} (/status, /metrics, /health detail, "
          "/dashboard, /admin, /docs)",
          cfg.operator_listen->address, server.operator_port());
    int sig = stop_signals.wait();
    for (; sig == SIGUSR2; sig = stop_signals.wait()) {
      if (!state_file || !*state_file) {
        events->warn("SIGUSR2: no MEDGATE_STATE_FILE to write the upstreams' state to");
        continue;
      }
      const std::string error =
          medgate::gateway::save_upstream_state(gateway.upstreams(), state_file);
      if (error.empty())
        events->info("state hand-over: upstreams' state written to {}", state_file);
      else
        events->error("state hand-over: {}", error);
    }
    events->info("signal {} received: draining (up to {} ms)", sig,
                 cfg.limits.drain_timeout.count());
    server.drain();
    server.wait();
    events->info("medgate stopped");
  } catch (const std::exception& e) {
    events->critical("medgate failed: {}", e.what());
    return 1;
  }
  if (access)
    access->flush();
  return 0;
}
