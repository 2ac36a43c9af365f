#include "gateway/gateway_config.hpp"

#include "clients/host_name.hpp"

#include "gateway/host_allow_list.hpp"

#include <algorithm>
#include <thread>

namespace medgate::gateway {
namespace {

using namespace std::chrono_literals;
using config::MapReader;
using config::Node;
using resilience::Duration;

milliseconds get_ms(MapReader& m, std::string_view key, milliseconds def, Duration min,
                    Duration max) {
  return std::chrono::duration_cast<milliseconds>(m.get_duration(key, def, min, max));
}

resilience::CircuitBreakerConfig read_breaker(const Node& node,
                                              resilience::CircuitBreakerConfig c) {
  auto m = node.map();
  c.consecutive_failures =
      static_cast<uint32_t>(m.get_int("consecutive_failures", c.consecutive_failures, 0, 1000));
  c.failure_rate_threshold = m.get_double("failure_rate", c.failure_rate_threshold, 0.0, 1.0);
  c.slow_call_rate_threshold = m.get_double("slow_call_rate", c.slow_call_rate_threshold, 0.0, 1.0);
  // At least 10 ms: the gateway's policy clock ticks every 1-4 ms (CoarseSteadyClock).
  c.slow_call_duration = m.get_duration("slow_call_duration", c.slow_call_duration, 10ms, 1h);
  if (auto n = m.optional("window_type")) {
    c.window_kind =
        n->as_enum<resilience::WindowKind>({{"count", resilience::WindowKind::count_based},
                                            {"time", resilience::WindowKind::time_based}});
  }
  c.window_size = static_cast<uint32_t>(m.get_int("window", c.window_size, 1, 10'000));
  c.min_calls = static_cast<uint32_t>(m.get_int("min_calls", c.min_calls, 1, 10'000));
  c.open_for = m.get_duration("open_for", c.open_for, 1ms, 24h);
  c.open_backoff_multiplier = m.get_double("open_backoff", c.open_backoff_multiplier, 1.0, 100.0);
  c.max_open_for = m.get_duration("max_open_for", std::max(c.max_open_for, c.open_for), 1ms, 24h);
  c.half_open_calls =
      static_cast<uint32_t>(m.get_int("half_open_calls", c.half_open_calls, 1, 1000));
  m.finish();
  if (auto err = resilience::validate(c); !err.empty())
    node.fail(err);
  return c;
}

void read_retry(const Node& node, UpstreamConfig& u) {
  auto m = node.map();
  auto& r = u.retry;
  r.attempts = static_cast<uint32_t>(m.get_int("attempts", r.attempts, 1, 10));
  r.backoff = m.get_duration("backoff", r.backoff, 0ms, 1min);
  r.max_backoff = m.get_duration("max_backoff", std::max(r.max_backoff, r.backoff), 0ms, 10min);
  u.budget.ratio = m.get_double("budget", u.budget.ratio, 0.0, 10.0);
  u.budget.min_retries =
      static_cast<uint32_t>(m.get_int("budget_min", u.budget.min_retries, 0, 1'000'000));
  u.budget.window = m.get_duration("budget_window", u.budget.window, 100ms, 10min);
  if (auto on = m.optional("on")) {
    r.on = resilience::RetryOn{false, false, false, {}};
    for (const Node& item : on->items()) {
      const std::string s = item.as_string();
      if (s == "connect_failure") {
        r.on.connect_failure = true;
      } else if (s == "reset") {
        r.on.reset = true;
      } else if (s == "timeout") {
        r.on.timeout = true;
      } else {
        r.on.statuses.push_back(static_cast<unsigned>(item.as_int(500, 599)));
      }
    }
  }
  m.finish();
  if (auto err = resilience::validate(r); !err.empty())
    node.fail(err);
}

HealthCheckConfig read_health_check(const Node& node) {
  HealthCheckConfig h;
  auto m = node.map();
  h.enabled = m.get_bool("enabled", true);
  h.path = m.get_string("path", h.path);
  if (h.path.empty() || h.path.front() != '/')
    m.required("path").fail("must start with '/'");
  h.interval = get_ms(m, "interval", h.interval, 100ms, 1h);
  h.timeout = get_ms(m, "timeout", h.timeout, 10ms, 1min);
  h.healthy_threshold = static_cast<uint32_t>(m.get_int("healthy_threshold", 2, 1, 100));
  h.unhealthy_threshold = static_cast<uint32_t>(m.get_int("unhealthy_threshold", 3, 1, 100));
  h.expect_status = static_cast<unsigned>(m.get_int("expect_status", 200, 100, 599));
  m.finish();
  return h;
}

UpstreamConfig read_upstream(const std::string& name, const Node& node) {
  UpstreamConfig u;
  u.name = name;
  u.fingerprint = node.canonical();
  auto m = node.map();
  for (const Node& item : m.required("endpoints").items()) {
    std::string error;
    auto ep = clients::parse_http_url(item.as_nonempty_string(), error);
    if (!ep)
      item.fail(error);
    u.endpoints.push_back(std::move(*ep));
  }
  if (u.endpoints.empty())
    m.required("endpoints").fail("needs at least one endpoint");
  if (u.endpoints.size() > 64)
    m.required("endpoints").fail("at most 64 endpoints");
  if (auto n = m.optional("selection")) {
    u.selection = n->as_enum<resilience::SelectionPolicy>(
        {{"ordered", resilience::SelectionPolicy::ordered},
         {"round_robin", resilience::SelectionPolicy::round_robin},
         {"least_outstanding", resilience::SelectionPolicy::least_outstanding}});
  }
  if (auto n = m.optional("panic")) {
    u.panic = n->as_enum<resilience::PanicMode>(
        {{"fail", resilience::PanicMode::fail}, {"any", resilience::PanicMode::any}});
  }
  u.timeout = get_ms(m, "timeout", u.timeout, 1ms, 10min);
  u.per_try_timeout =
      get_ms(m, "per_try_timeout", std::min(u.per_try_timeout, u.timeout), 1ms, 10min);
  if (u.per_try_timeout > u.timeout)
    m.required("per_try_timeout").fail("must not exceed timeout");
  u.write_timeout = get_ms(m, "write_timeout", u.timeout, 1ms, 10min);
  u.write_per_try_timeout =
      get_ms(m, "write_per_try_timeout", std::min(u.per_try_timeout, u.write_timeout), 1ms, 10min);
  if (u.write_per_try_timeout > u.write_timeout)
    m.required("write_per_try_timeout").fail("must not exceed write_timeout");
  u.connect_timeout = get_ms(m, "connect_timeout", u.connect_timeout, 1ms, 1min);
  u.idle_timeout = get_ms(m, "idle_timeout", u.idle_timeout, 100ms, 1h);
  u.max_idle_per_thread =
      static_cast<uint32_t>(m.get_int("max_idle_per_thread", u.max_idle_per_thread, 0, 10'000));
  u.max_response_bytes = static_cast<uint64_t>(m.get_int(
      "max_response_bytes", static_cast<int64_t>(u.max_response_bytes), 1024, int64_t{1} << 30));
  if (auto n = m.optional("retry"))
    read_retry(*n, u);
  if (auto n = m.optional("breaker"))
    u.breaker = read_breaker(*n, u.breaker);
  // Endpoint breakers default to the upstream's settings.
  u.endpoint_breaker = u.breaker;
  if (auto n = m.optional("endpoint_breaker"))
    u.endpoint_breaker = read_breaker(*n, u.breaker);
  if (auto n = m.optional("outlier")) {
    auto o = n->map();
    u.outlier.consecutive_failures = static_cast<uint32_t>(
        o.get_int("consecutive_failures", u.outlier.consecutive_failures, 0, 1000));
    u.outlier.base_ejection = o.get_duration("base_ejection", u.outlier.base_ejection, 1ms, 1h);
    u.outlier.max_ejection = o.get_duration(
        "max_ejection", std::max(u.outlier.max_ejection, u.outlier.base_ejection), 1ms, 24h);
    u.outlier.max_ejection_percent = static_cast<uint32_t>(
        o.get_int("max_ejection_percent", u.outlier.max_ejection_percent, 0, 100));
    o.finish();
    if (auto err = resilience::validate(u.outlier); !err.empty())
      n->fail(err);
  }
  if (auto n = m.optional("health_check"))
    u.health_check = read_health_check(*n);
  u.slow_start = get_ms(m, "slow_start", u.slow_start, 0ms, 1h);
  u.max_concurrent =
      static_cast<uint32_t>(m.get_int("max_concurrent", u.max_concurrent, 1, 1'000'000));
  if (auto n = m.optional("rate_limit")) {
    auto r = n->map();
    u.rate_limit = r.required("rate").as_double(0.001, 1e9);
    u.rate_burst = r.get_double("burst", std::max(1.0, u.rate_limit), 1.0, 1e9);
    r.finish();
  }
  if (auto n = m.optional("stale")) {
    auto s = n->map();
    u.stale.max_age = get_ms(s, "max_age", u.stale.max_age, 0ms, 24h);
    u.stale.max_entries =
        static_cast<uint32_t>(s.get_int("max_entries", u.stale.max_entries, 1, 1'000'000));
    u.stale.max_bytes = static_cast<uint64_t>(
        s.get_int("max_bytes", static_cast<int64_t>(u.stale.max_bytes), 1024, int64_t{1} << 34));
    s.finish();
  }
  m.finish();
  return u;
}

RouteConfig read_route(const Node& node) {
  RouteConfig r;
  auto m = node.map();
  r.prefix = m.required("prefix").as_nonempty_string();
  if (r.prefix.front() != '/')
    m.required("prefix").fail("must start with '/'");
  r.upstream = m.required("upstream").as_nonempty_string();
  r.strip_prefix = m.get_string("strip_prefix", "");
  if (!r.strip_prefix.empty() && r.prefix.rfind(r.strip_prefix, 0) != 0)
    m.required("strip_prefix").fail("must be a leading part of prefix '" + r.prefix + "'");
  r.add_prefix = m.get_string("add_prefix", "");
  m.finish();
  return r;
}

}  // namespace

const UpstreamConfig* GatewayConfig::find_upstream(std::string_view name) const {
  for (const auto& u : upstreams)
    if (u.name == name)
      return &u;
  return nullptr;
}

GatewayConfig parse_gateway_config(const config::Document& doc,
                                   const std::vector<ConfigSection>& sections) {
  GatewayConfig c;
  const Node root = doc.root();
  auto m = root.map();
  if (auto n = m.optional("listen")) {
    auto l = n->map();
    c.listen.address = l.get_string("address", c.listen.address);
    boost::system::error_code ec;
    boost::asio::ip::make_address(c.listen.address, ec);
    if (ec)
      l.required("address").fail("not an IP address");
    c.listen.port = static_cast<uint16_t>(l.get_int("port", c.listen.port, 0, 65535));
    if (auto t = l.optional("tls")) {
      auto tm = t->map();
      c.listen.tls.cert_file = tm.required("cert_file").as_nonempty_string();
      c.listen.tls.key_file = tm.required("key_file").as_nonempty_string();
      c.listen.tls.reload_check = get_ms(tm, "reload_check", c.listen.tls.reload_check, 100ms, 1h);
      tm.finish();
    }
    if (auto hosts = l.optional("allowed_hosts")) {
      for (const std::string& name : hosts->names(64)) {
        if (!clients::is_host_name(name))
          hosts->fail(
              "'" + name + "': " +
              "not a host name without port (letters, digits, '-' and '.'); IP addresses and "
              "localhost are always allowed");
        c.listen.allowed_hosts.push_back(name);
      }
    }
    l.finish();
  }
  if (auto n = m.optional("operator_listen")) {
    auto l = n->map();
    OperatorListenConfig op;
    op.address = l.get_string("address", op.address);
    boost::system::error_code ec;
    (void)boost::asio::ip::make_address(op.address, ec);
    if (ec)
      l.required("address").fail("not an IP address");
    op.port = static_cast<uint16_t>(l.get_int("port", op.port, 0, 65535));
    if (op.port != 0 && op.port == c.listen.port)
      l.required("port").fail("the operator listener needs a port of its own (listen.port is " +
                              std::to_string(c.listen.port) + ")");
    l.finish();
    c.operator_listen = op;
  }
  c.threads = static_cast<uint32_t>(m.get_int("threads", 0, 0, 256));
  if (c.threads == 0)
    c.threads = std::max(1u, std::thread::hardware_concurrency());
  if (auto n = m.optional("limits")) {
    auto l = n->map();
    auto& x = c.limits;
    x.max_header_bytes =
        static_cast<uint32_t>(l.get_int("max_header_bytes", x.max_header_bytes, 1024, 1 << 20));
    x.max_body_bytes = static_cast<uint64_t>(
        l.get_int("max_body_bytes", static_cast<int64_t>(x.max_body_bytes), 0, int64_t{1} << 30));
    x.header_timeout = get_ms(l, "header_timeout", x.header_timeout, 10ms, 1h);
    x.body_timeout = get_ms(l, "body_timeout", x.body_timeout, 10ms, 1h);
    x.write_timeout = get_ms(l, "write_timeout", x.write_timeout, 10ms, 1h);
    x.max_connections =
        static_cast<uint32_t>(l.get_int("max_connections", x.max_connections, 1, 1'000'000));
    x.drain_timeout = get_ms(l, "drain_timeout", x.drain_timeout, 0ms, 1h);
    x.drain_idle_grace = get_ms(l, "drain_idle_grace", x.drain_idle_grace, 0ms, 10s);
    l.finish();
  }
  if (auto n = m.optional("admin")) {
    auto a = n->map();
    c.admin_token = a.get_string("token", "");
    if (!c.admin_token.empty() && c.admin_token.size() < 16)
      a.required("token").fail("must be at least 16 characters");
    a.finish();
  }
  if (auto n = m.optional("access_log")) {
    auto a = n->map();
    c.access_log.enabled = a.get_bool("enabled", true);
    c.access_log.path = a.get_string("path", "");
    c.access_log.pseudonym_key = a.get_string("pseudonym_key", "");
    a.finish();
  }
  {
    const Node auth_node = m.required("auth");
    auto a = auth_node.map();
    c.auth.verifier = auth::read_verifier_settings(a);
    if (auto rules = a.optional("rules"))
      c.auth.rules = auth::read_access_rules(*rules);
    a.finish();
    const auto addr = boost::asio::ip::make_address(c.listen.address);
    const bool op_loopback =
        !c.operator_listen ||
        boost::asio::ip::make_address(c.operator_listen->address).is_loopback();
    if (!c.auth.verifier.enabled && (!addr.is_loopback() || !op_loopback))
      auth_node.fail_key("enabled",
                         "authentication may be off only when medgate listens on loopback");
  }
  if (auto n = m.optional("audit_log"))
    c.audit_log = auth::read_audit_log_settings(*n);
  if (auto n = m.optional("client_rate_limit")) {
    auto r = n->map();
    c.client_rate_limit.enabled = true;
    c.client_rate_limit.rate = r.required("rate").as_double(0.001, 1e9);
    c.client_rate_limit.burst =
        r.get_double("burst", std::max(1.0, c.client_rate_limit.rate), 1, 1e9);
    c.client_rate_limit.max_clients = static_cast<uint32_t>(
        r.get_int("max_clients", c.client_rate_limit.max_clients, 16, 100'000'000));
    r.finish();
  }
  if (auto n = m.optional("cors")) {
    auto r = n->map();
    if (auto o = r.optional("allowed_origins")) {
      for (const Node& item : o->items()) {
        const std::string origin = item.as_nonempty_string();
        const size_t scheme = origin.find("://");
        if (origin == "*" || scheme == std::string::npos ||
            origin.find('/', scheme + 3) != std::string::npos)
          item.fail("an origin is scheme://host[:port], exactly (no '*', no path)");
        c.cors.allowed_origins.push_back(origin);
      }
    }
    c.cors.max_age_seconds =
        static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(
                             r.get_duration("max_age", std::chrono::seconds(c.cors.max_age_seconds),
                                            std::chrono::seconds(0), std::chrono::hours(24)))
                             .count());
    r.finish();
  }
  if (auto n = m.optional("dashboard")) {
    auto r = n->map();
    auto& d = c.dashboard;
    d.enabled = r.get_bool("enabled", d.enabled);
    d.prometheus_url = r.get_string("prometheus_url", "");
    d.drills_dir = r.get_string("drills_dir", "");
    d.refresh = std::chrono::duration_cast<std::chrono::milliseconds>(r.get_duration(
        "refresh", d.refresh, std::chrono::milliseconds(200), std::chrono::minutes(1)));
    d.availability_objective =
        r.get_double("availability_objective", d.availability_objective, 0.5, 0.99999);
    d.latency_objective = r.get_double("latency_objective", d.latency_objective, 0.5, 0.99999);
    if (!d.prometheus_url.empty() && !d.prometheus_url.starts_with("http://") &&
        !d.prometheus_url.starts_with("https://"))
      r.optional("prometheus_url")->fail("expected http://host:port");
    if (auto ms = r.optional("monitors")) {
      for (const Node& item : ms->items()) {
        auto mr = item.map();
        DashboardMonitor mon{.name = mr.required("name").as_nonempty_string()};
        // One monitor, or each of a cluster's monitors (comma-separated or a list).
        const Node url_node = mr.required("url");
        for (std::string url : url_node.names(4)) {
          if (!url.starts_with("http://") && !url.starts_with("https://"))
            item.fail("a monitor's url is http://host:port");
          while (url.ends_with("/"))
            url.pop_back();
          mon.urls.push_back(std::move(url));
        }
        if (mon.urls.empty())
          url_node.fail("names no monitor");
        mon.url = mon.urls.front();
        mr.finish();
        d.monitors.push_back(std::move(mon));
      }
      if (d.monitors.size() > 16)
        ms->fail("at most 16 monitors");
    }
    while (d.prometheus_url.ends_with("/"))
      d.prometheus_url.pop_back();
    r.finish();
  }
  if (c.auth.verifier.enabled && c.audit_log.path.empty())
    root.fail_key("audit_log", "audit_log.path is required when auth is enabled");
  for (auto& [name, node] : m.required("upstreams").map().entries()) {
    c.upstreams.push_back(read_upstream(name, node));
  }
  if (auto n = m.optional("routes")) {
    for (const Node& item : n->items()) {
      RouteConfig r = read_route(item);
      if (!c.find_upstream(r.upstream))
        item.map().required("upstream").fail("no upstream named '" + r.upstream + "'");
      for (const auto& other : c.routes)
        if (other.prefix == r.prefix)
          item.map().required("prefix").fail("duplicate prefix");
      c.routes.push_back(std::move(r));
    }
  }
  // Longest prefix wins: keep them sorted so the first match is the most specific.
  std::stable_sort(c.routes.begin(), c.routes.end(),
                   [](const auto& a, const auto& b) { return a.prefix.size() > b.prefix.size(); });
  for (const ConfigSection& section : sections)
    if (auto n = m.optional(section.key))
      section.read(*n);
  m.finish();
  return c;
}

GatewayConfig load_gateway_config(const std::string& path, config::EnvLookup env,
                                  const std::vector<ConfigSection>& sections) {
  auto c = parse_gateway_config(config::Document::from_file(path, std::move(env)), sections);
  c.source = path;
  return c;
}

}  // namespace medgate::gateway
