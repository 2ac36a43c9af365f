#include "db-monitors/monitor_config.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace medgate::dbmon {

namespace {

using namespace std::chrono_literals;

// Hosts travel into start wrappers' key=value lines and into replication statements: a name
// or an address (IPv6 too), nothing else.
bool is_host_name(const std::string& h) {
  return !h.empty() && h.size() <= 253 && std::all_of(h.begin(), h.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' || ch == '_' ||
           ch == ':';
  });
}

}  // namespace

MonitorConfig load_monitor_config(const std::string& path, config::EnvLookup env) {
  const auto doc = config::Document::from_file(path, std::move(env));
  auto root = doc.root().map();
  MonitorConfig c;
  MonitorOptions& m = c.monitor;
  m.cluster = root.required("cluster").as_nonempty_string();
  c.engine = root.required("engine").as_enum<EngineKind>({{"mariadb", EngineKind::mariadb},
                                                          {"mysql8", EngineKind::mysql8},
                                                          {"postgresql", EngineKind::postgresql}});
  const bool pg = c.engine == EngineKind::postgresql;
  {
    auto l = root.required("listen").map();
    c.listen_address = l.get_string("address", c.listen_address);
    c.listen_port = static_cast<uint16_t>(l.required("port").as_int(0, 65535));
    l.finish();
  }
  if (auto e = root.optional("etcd")) {
    auto k = e->map();
    c.etcd.cluster = m.cluster;
    if (auto ep = k.optional("endpoints")) {
      c.etcd.endpoints = ep->names(9);
      for (const auto& url : c.etcd.endpoints)
        if (!(url.starts_with("http://") || url.starts_with("https://")) ||
            url.find("://") + 3 >= url.size() || url.back() == '/')
          ep->fail("each endpoint is http://host:port or https://host:port (got '" + url + "')");
    }
    c.etcd.member = k.get_string("member", "");
    c.etcd.prefix = k.get_string("prefix", c.etcd.prefix);
    c.etcd.ttl = k.get_duration("lease_ttl", c.etcd.ttl, 2s, 60s);
    c.etcd.renew_every = k.get_duration("renew_every", c.etcd.renew_every, 100ms, 30s);
    c.etcd.margin = k.get_duration("margin", c.etcd.margin, 100ms, 30s);
    c.etcd.request_timeout = k.get_duration("request_timeout", c.etcd.request_timeout, 50ms, 10s);
    if (!c.etcd.endpoints.empty()) {
      if (c.etcd.member.empty() || c.etcd.member.size() > 63 ||
          !std::all_of(c.etcd.member.begin(), c.etcd.member.end(), [](char ch) {
            return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' ||
                   ch == '.';
          }))
        e->fail_key("member", "must be 1-63 of A-Z a-z 0-9 - _ . (got '" + c.etcd.member + "')");
      if (!c.etcd.prefix.starts_with("/") || c.etcd.prefix.ends_with("/"))
        e->fail_key("prefix", "must start with '/' and not end with one");
      if (c.etcd.ttl.count() % 1'000'000'000 != 0)
        e->fail_key("lease_ttl", "must be whole seconds (etcd leases count seconds)");
      if (c.etcd.renew_every + c.etcd.margin >= c.etcd.ttl)
        e->fail_key("renew_every",
                    "renew_every + margin must be shorter than lease_ttl, or a monitor that "
                    "misses one renewal stops acting");
    }
    k.finish();
  }
  if (c.etcd.endpoints.empty())
    c.state_file = root.required("state_file").as_nonempty_string();
  else
    c.state_file = root.get_string("state_file", "");
  c.event_log = root.get_string("event_log", "");
  c.access_log = root.get_bool("access_log", false);
  {
    auto l = root.required("login").map();
    m.login.user = l.required("user").as_nonempty_string();
    m.login.password = l.get_string("password", "");
    m.login.database = l.get_string("database", pg ? "postgres" : "");
    l.finish();
  }
  {
    auto r = root.required("replication").map();
    c.replication.user = r.required("user").as_nonempty_string();
    c.replication.password = r.get_string("password", "");
    r.finish();
  }
  auto nodes_node = root.required("nodes");
  std::set<std::string> names;
  for (const auto& item : nodes_node.items()) {
    auto n = item.map();
    MonitorNode node;
    const config::Node name_node = n.required("name");
    node.spec.name = name_node.as_nonempty_string();
    // Names travel into events, PostgreSQL's application_name and start wrappers' key=value
    // lines: letters, digits, '-', '_' and '.', at most 63.
    if (node.spec.name.size() > 63 ||
        !std::all_of(node.spec.name.begin(), node.spec.name.end(), [](char ch) {
          return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' ||
                 ch == '.';
        }))
      name_node.fail("must be 1-63 of A-Z a-z 0-9 - _ . (got '" + node.spec.name + "')");
    if (auto host = n.optional("host")) {
      node.spec.host = host->as_nonempty_string();
      if (!is_host_name(node.spec.host))
        host->fail("must be a host name or address (got '" + node.spec.host + "')");
    }
    node.spec.port = static_cast<uint16_t>(n.required("port").as_int(1, 65535));
    node.spec.no_failover = n.get_bool("no_failover", false);
    node.rejoin_command = n.get_string("rejoin_command", "");
    node.fence_command = n.get_string("fence_command", "");
    if (auto ra = n.optional("replication_address")) {
      const std::string v = ra->as_nonempty_string();
      const size_t colon = v.rfind(':');
      int port = 0;
      try {
        port = colon == std::string::npos ? 0 : std::stoi(v.substr(colon + 1));
      } catch (const std::exception&) {
      }
      if (colon == std::string::npos || colon == 0 || port < 1 || port > 65535 ||
          !is_host_name(v.substr(0, colon)))
        ra->fail("must be host:port (got '" + v + "')");
      node.spec.replication_host = v.substr(0, colon);
      node.spec.replication_port = static_cast<uint16_t>(port);
    }
    if (!names.insert(node.spec.name).second)
      item.fail_key("name", "duplicate node name '" + node.spec.name + "'");
    n.finish();
    m.nodes.push_back(std::move(node));
  }
  if (m.nodes.size() < 2)
    nodes_node.fail("a cluster needs at least two nodes (got " + std::to_string(m.nodes.size()) +
                    ")");
  if (auto ch = root.optional("checks")) {
    auto k = ch->map();
    m.interval = k.get_duration("interval", m.interval, 100ms, 60s);
    m.suspect_interval = k.get_duration("suspect_interval", m.suspect_interval, 50ms, 60s);
    m.check_timeout = k.get_duration("timeout", m.check_timeout, 50ms, 60s);
    m.connect_timeout = k.get_duration("connect_timeout", m.check_timeout, 50ms, 60s);
    m.core.failures_to_down =
        static_cast<uint32_t>(k.get_int("failures", m.core.failures_to_down, 1, 100));
    m.core.confirm_silence =
        k.get_duration("confirm_silence", m.core.confirm_silence, 100ms, 10min);
    k.finish();
  } else {
    m.connect_timeout = m.check_timeout;
  }
  m.core.max_lag_on_failover = pg ? 16ULL << 20 : 1000;  // bytes of WAL / transactions
  if (auto f = root.optional("failover")) {
    auto k = f->map();
    m.core.auto_failover = k.get_bool("automatic", true);
    m.core.max_lag_on_failover = static_cast<uint64_t>(
        k.get_int("max_lag", static_cast<int64_t>(m.core.max_lag_on_failover), 0, 1LL << 50));
    if (auto c = k.optional("cooldown"))
      c->fail(
          "was replaced by the flap guard: flap_window (default 10m) and max_failovers "
          "(default 3) hold the cluster only after that many failovers within the window");
    m.core.flap_window = k.get_duration("flap_window", m.core.flap_window, 1s, 24h);
    m.core.max_failovers =
        static_cast<uint32_t>(k.get_int("max_failovers", m.core.max_failovers, 1, 100));
    m.apply_timeout = k.get_duration("apply_timeout", m.apply_timeout, 100ms, 10min);
    m.fence_timeout = k.get_duration("fence_timeout", m.fence_timeout, 100ms, 10min);
    m.action_timeout = k.get_duration("action_timeout", m.action_timeout, 100ms, 10min);
    if (auto b = k.optional("bootstrap_primary")) {
      m.core.bootstrap_primary = b->as_nonempty_string();
      if (!names.contains(m.core.bootstrap_primary))
        b->fail("must name one of the nodes (got '" + m.core.bootstrap_primary + "')");
    }
    k.finish();
  }
  if (auto r = root.optional("replication_mode")) {
    auto k = r->map();
    m.core.manage_sync = k.get_bool("manage", true);
    m.core.relax_after = k.get_duration("relax_after", m.core.relax_after, 0s, 10min);
    k.finish();
  }
  if (auto r = root.optional("rejoin")) {
    auto k = r->map();
    m.core.auto_rejoin = k.get_bool("automatic", true);
    m.core.repair_backoff = k.get_duration("backoff", m.core.repair_backoff, 100ms, 1h);
    k.finish();
  }
  if (auto a = root.optional("api")) {
    auto k = a->map();
    c.api_token = k.get_string("token", "");
    k.finish();
  }
  if (m.check_timeout >= m.interval)
    root.self().fail_key("checks", "timeout must be shorter than interval");
  root.finish();
  return c;
}

}  // namespace medgate::dbmon
