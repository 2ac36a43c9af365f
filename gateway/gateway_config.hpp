// The gateway's configuration: YAML (through config/) into typed, validated settings.
// Every key and default is documented in docs/configuration.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "auth/audit_log.hpp"
#include "auth/auth_config.hpp"
#include "clients/http_url.hpp"
#include "config/yaml_reader.hpp"
#include "gateway/cors.hpp"
#include "gateway/dashboard_config.hpp"
#include "resilience/circuit_breaker.hpp"
#include "resilience/endpoint_selector.hpp"
#include "resilience/outlier_detector.hpp"
#include "resilience/retry.hpp"
#include "resilience/retry_budget.hpp"

namespace medgate::gateway {

using std::chrono::milliseconds;

// TLS on the listener (off when `cert_file` is empty): the chain and key are files, read
// again when they change (checked at most every `reload_check`).
struct TlsConfig {
  std::string cert_file;
  std::string key_file;
  milliseconds reload_check{10'000};
  [[nodiscard]] bool enabled() const { return !cert_file.empty(); }
};

struct ListenConfig {
  std::string address = "127.0.0.1";
  uint16_t port = 8000;
  TlsConfig tls;
  // Host names answered besides IP literals and localhost (gateway/host_allow_list.hpp);
  // any other Host gets 421. Applies to every listener.
  std::vector<std::string> allowed_hosts;
};

// The operator listener (Envoy's admin listener): when set, /status, /metrics, the detailed
// /health, /dashboard, /admin and /docs are served here only, the public listener keeps the
// API and the probes (/health/*, and /health as a bare verdict), and this one serves no API.
struct OperatorListenConfig {
  std::string address = "127.0.0.1";
  uint16_t port = 9901;
};

struct LimitsConfig {
  uint32_t max_header_bytes = 8 * 1024;
  uint64_t max_body_bytes = 1024 * 1024;
  milliseconds header_timeout{10'000};  // whole header, also the keep-alive idle limit
  milliseconds body_timeout{30'000};
  milliseconds write_timeout{30'000};
  uint32_t max_connections = 10'000;
  milliseconds drain_timeout{10'000};
  // Draining, an idle keep-alive connection stays open this long: a request that arrives on
  // it meanwhile is served (with Connection: close) instead of finding it closed.
  milliseconds drain_idle_grace{500};
};

struct HealthCheckConfig {
  bool enabled = false;
  std::string path = "/health";
  milliseconds interval{2'000};
  milliseconds timeout{1'000};
  uint32_t healthy_threshold = 2;
  uint32_t unhealthy_threshold = 3;
  unsigned expect_status = 200;
};

struct StaleConfig {
  milliseconds max_age{0};  // 0: never answer from the last-good copy
  uint32_t max_entries = 1024;
  uint64_t max_bytes = 16 * 1024 * 1024;  // bodies and headers of every copy together
};

struct UpstreamConfig {
  std::string name;
  std::vector<clients::HttpEndpoint> endpoints;
  resilience::SelectionPolicy selection = resilience::SelectionPolicy::ordered;
  resilience::PanicMode panic = resilience::PanicMode::fail;
  milliseconds timeout{2'000};  // overall, all attempts and back-offs included
  milliseconds per_try_timeout{1'000};
  // The same for requests that may change state (not GET, HEAD, OPTIONS or TRACE): a write
  // may wait out a database failover in the service, which answers 503 before its
  // per-try budget (sent as X-Medgate-Timeout-Ms) runs out. Default: timeout, per_try_timeout.
  milliseconds write_timeout{2'000};
  milliseconds write_per_try_timeout{1'000};
  milliseconds connect_timeout{250};
  milliseconds idle_timeout{30'000};
  uint32_t max_idle_per_thread = 64;
  uint64_t max_response_bytes = 8 * 1024 * 1024;
  resilience::RetryConfig retry;
  resilience::RetryBudgetConfig budget;
  resilience::CircuitBreakerConfig breaker;           // whole upstream
  resilience::CircuitBreakerConfig endpoint_breaker;  // each endpoint
  resilience::OutlierConfig outlier;
  HealthCheckConfig health_check;
  milliseconds slow_start{10'000};  // ramp-in of an endpoint that comes back
  uint32_t max_concurrent = 1000;   // bulkhead
  double rate_limit = 0.0;          // requests/s, 0 = off
  double rate_burst = 0.0;
  StaleConfig stale;
  // The upstream's settings as one canonical text (config::Node::canonical): a restarted
  // medgate keeps the breaker and outlier state of an upstream whose text is unchanged.
  std::string fingerprint;
};

struct RouteConfig {
  std::string prefix;
  std::string upstream;
  std::string strip_prefix;
  std::string add_prefix;
};

struct AccessLogConfig {
  bool enabled = true;
  std::string path;  // empty: standard output
  // Key of the pseudonyms that replace RUTs in the access log; empty: a random key per
  // process (pseudonyms then match within one run only).
  std::string pseudonym_key;
};

// Who may call what (auth/auth_config.hpp). Required; `enabled: false` only on loopback.
struct AuthConfig {
  auth::VerifierSettings verifier;
  std::vector<auth::AccessRule> rules;
};

// A token bucket per caller on the routed API: per token subject when medgate verified one,
// per client address otherwise. Off when absent.
struct ClientRateLimitConfig {
  bool enabled = false;
  double rate = 0;  // requests per second
  double burst = 0;
  uint32_t max_clients = 100'000;
};

// The append-only record of every call about a patient's records, rotated by size.
using AuditLogConfig = auth::AuditLogSettings;  // path required when auth is enabled

struct GatewayConfig {
  std::string source;  // file it came from
  ListenConfig listen;
  std::optional<OperatorListenConfig> operator_listen;
  uint32_t threads = 0;  // 0: one per core
  LimitsConfig limits;
  std::string admin_token;  // empty: admin endpoints always answer 401
  AccessLogConfig access_log;
  AuthConfig auth;
  AuditLogConfig audit_log;
  ClientRateLimitConfig client_rate_limit;
  CorsConfig cors;  // no allowed origin: no cross-origin reads
  DashboardConfig dashboard;
  std::vector<UpstreamConfig> upstreams;
  std::vector<RouteConfig> routes;

  [[nodiscard]] const UpstreamConfig* find_upstream(std::string_view name) const;
};

// A top-level section of the file that belongs to a module the application adds (medgate's
// `portal:`): `read` is given it when present, and refuses what it does not know as the
// core does (MapReader::finish). Keys no one reads are refused.
struct ConfigSection {
  std::string key;
  std::function<void(const config::Node&)> read;
};

// Throws config::ConfigError naming file, line, column and key.
[[nodiscard]] GatewayConfig load_gateway_config(const std::string& path,
                                                config::EnvLookup env = config::process_env,
                                                const std::vector<ConfigSection>& sections = {});
[[nodiscard]] GatewayConfig parse_gateway_config(const config::Document& doc,
                                                 const std::vector<ConfigSection>& sections = {});

}  // namespace medgate::gateway
