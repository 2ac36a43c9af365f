#include "apps/service-kit/service_config.hpp"

#include <boost/asio/ip/address.hpp>

#include "clients/db/monitor_topology.hpp"
#include "clients/db/postgres_driver.hpp"

namespace medgate::service {

namespace {

using namespace std::chrono_literals;

std::chrono::milliseconds ms(config::MapReader& m, std::string_view key,
                             std::chrono::milliseconds def, config::Duration min,
                             config::Duration max) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(m.get_duration(key, def, min, max));
}

db::DbNode parse_node(const config::Node& n) {
  const std::string s = n.as_nonempty_string();
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0)
    n.fail("must be host:port (got '" + s + "')");
  db::DbNode node;
  node.host = s.substr(0, colon);
  try {
    const int port = std::stoi(s.substr(colon + 1));
    if (port < 1 || port > 65535)
      throw std::out_of_range("port");
    node.port = static_cast<uint16_t>(port);
  } catch (const std::exception&) {
    n.fail("port must be 1-65535 (got '" + s.substr(colon + 1) + "')");
  }
  return node;
}

}  // namespace

std::shared_ptr<db::DbDriver> ServiceConfig::make_driver() const {
  switch (driver) {
    case DbDriverKind::postgresql:
      return std::make_shared<db::PostgresDriver>(io_timeout);
    case DbDriverKind::mysql8:
      return std::make_shared<db::MariadbDriver>(db::MysqlDialect::mysql8, io_timeout);
    case DbDriverKind::mariadb:
      break;
  }
  return std::make_shared<db::MariadbDriver>(db::MysqlDialect::mariadb, io_timeout);
}

ServiceConfig load_service_config(const std::string& path, uint16_t default_port, bool bearer_auth,
                                  const std::function<void(config::MapReader&)>& extra,
                                  config::EnvLookup env) {
  const auto doc = config::Document::from_file(path, std::move(env));
  auto root = doc.root().map();
  ServiceConfig c;
  c.listen.port = static_cast<uint16_t>(default_port);
  if (auto l = root.optional("listen")) {
    auto m = l->map();
    c.listen.address = m.get_string("address", c.listen.address);
    c.listen.port = static_cast<uint16_t>(m.get_int("port", default_port, 0, 65535));
    if (auto t = m.optional("tls")) {
      auto tm = t->map();
      httpd::TlsFiles tls;
      tls.cert_file = tm.required("cert_file").as_nonempty_string();
      tls.key_file = tm.required("key_file").as_nonempty_string();
      tls.reload_check = ms(tm, "reload_check", tls.reload_check, 100ms, 1h);
      tm.finish();
      c.listen.tls = std::move(tls);
    }
    m.finish();
  }
  c.listen.threads = static_cast<size_t>(root.get_int("threads", 2, 1, 64));
  if (auto l = root.optional("limits")) {
    auto m = l->map();
    c.limits.max_header_bytes =
        static_cast<size_t>(m.get_int("max_header_bytes", 16 * 1024, 1024, 1 << 20));
    c.limits.max_body_bytes =
        static_cast<size_t>(m.get_int("max_body_bytes", 256 * 1024, 1024, 64 << 20));
    c.limits.header_timeout = ms(m, "header_timeout", c.limits.header_timeout, 100ms, 10min);
    c.limits.body_timeout = ms(m, "body_timeout", c.limits.body_timeout, 100ms, 10min);
    c.limits.write_timeout = ms(m, "write_timeout", c.limits.write_timeout, 100ms, 10min);
    c.limits.max_connections =
        static_cast<size_t>(m.get_int("max_connections", 1024, 1, 1'000'000));
    c.limits.drain_timeout = ms(m, "drain_timeout", c.limits.drain_timeout, 0ms, 10min);
    c.limits.drain_idle_grace = ms(m, "drain_idle_grace", c.limits.drain_idle_grace, 0ms, 1min);
    m.finish();
  }
  auto dbn = root.required("database");
  auto d = dbn.map();
  c.driver = d.required("driver").as_enum<DbDriverKind>({{"mariadb", DbDriverKind::mariadb},
                                                         {"mysql8", DbDriverKind::mysql8},
                                                         {"postgresql", DbDriverKind::postgresql}});
  const auto nodes = d.required("nodes");
  if (!nodes.is_sequence() || nodes.items().empty())
    nodes.fail("must be a non-empty list of host:port");
  const std::string user = d.required("user").as_nonempty_string();
  const std::string password = d.get_string("password", "");
  const std::string name = d.required("name").as_nonempty_string();
  for (const auto& n : nodes.items()) {
    db::DbNode node = parse_node(n);
    node.user = user;
    node.password = password;
    node.database = name;
    c.pool.nodes.push_back(std::move(node));
  }
  c.pool.max_connections = static_cast<size_t>(d.get_int("max_connections", 8, 1, 1000));
  c.pool.threads = static_cast<size_t>(d.get_int("threads", 4, 1, 256));
  c.pool.connect_timeout = ms(d, "connect_timeout", c.pool.connect_timeout, 100ms, 1min);
  c.pool.acquire_timeout = ms(d, "acquire_timeout", c.pool.acquire_timeout, 10ms, 1min);
  c.pool.failover_wait = ms(d, "failover_wait", c.pool.failover_wait, 0ms, 10min);
  c.pool.reads_on_replica = d.get_bool("reads_on_replica", false);
  c.io_timeout = ms(d, "io_timeout", c.io_timeout, 1s, 10min);
  if (auto t = d.optional("topology_url")) {
    // One monitor's /primary, or several (the monitors of one cluster on etcd), comma- or
    // space-separated or a list; empty: none.
    const std::vector<std::string> urls = t->names(8);
    for (const auto& url : urls)
      if (!url.starts_with("http://") && !url.starts_with("https://"))
        t->fail("must be http:// or https:// URLs (got '" + url + "')");
    // Each monitor long-polled (held up to this long): a promotion is known within
    // milliseconds of its publication. 0: asked when work needs it (250 ms apart at most).
    const auto watch = ms(d, "topology_long_poll", 5s, 0ms, 30s);
    if (!urls.empty())
      c.pool.topology = std::make_shared<db::MonitorTopology>(
          urls, std::chrono::milliseconds(500), std::chrono::milliseconds(250), watch);
  }

  d.finish();
  if (auto i = root.optional("idempotency")) {
    auto m = i->map();
    c.idempotency_ttl = std::chrono::duration_cast<std::chrono::seconds>(
        m.get_duration("ttl", c.idempotency_ttl, 1min, std::chrono::hours(24 * 365)));
    c.idempotency_cleanup = ms(m, "cleanup_interval", c.idempotency_cleanup, 1s, 24h);
    m.finish();
  }
  if (bearer_auth) {
    const config::Node node = root.required("auth");
    auto a = node.map();
    c.auth = auth::read_verifier_settings(a);
    a.finish();
    if (!c.auth.enabled && !boost::asio::ip::make_address(c.listen.address).is_loopback())
      node.fail_key("enabled",
                    "authentication may be off only when the service listens on loopback");
    // No path to a patient's record goes unrecorded: a call that did not come through
    // medgate is audited here.
    if (auto a = root.optional("audit_log"))
      c.audit_log = auth::read_audit_log_settings(*a);
    if (c.auth.enabled && (!c.audit_log || c.audit_log->path.empty()))
      root.self().fail_key("audit_log", "audit_log.path is required when auth is enabled");
  }
  if (extra)
    extra(root);
  root.finish();
  return c;
}

}  // namespace medgate::service
