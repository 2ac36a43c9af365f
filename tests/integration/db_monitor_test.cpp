// db-monitor against real MariaDB and PostgreSQL pairs on loopback, with concurrent writers:
// a crashed or hung primary is replaced within the bound, every acknowledged write is on the
// new primary, none twice, the old primary comes back fenced (and, for MariaDB, rejoins);
// with only the monitor's view of a healthy primary cut, nothing is promoted.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <stdexcept>

#include "clients/db/mariadb_driver.hpp"
#include "clients/db/postgres_driver.hpp"
#include "tests/integration/monitor_fixture.hpp"
#include "tests/support/db_servers.hpp"
#include "tests/support/etcd_cluster.hpp"
#include "tests/support/tcp_proxy.hpp"

namespace medgate::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

// The serving primary as a node, asked of the monitors (the first that names one) at most
// every 100 ms.
class PrimaryLookup {
 public:
  PrimaryLookup(const MonitorProcess& monitor, std::map<std::string, db::DbNode> nodes)
      : PrimaryLookup(std::vector<const MonitorProcess*>{&monitor}, std::move(nodes)) {}
  PrimaryLookup(std::vector<const MonitorProcess*> monitors,
                std::map<std::string, db::DbNode> nodes)
      : monitors_(std::move(monitors)), nodes_(std::move(nodes)) {}
  std::optional<db::DbNode> operator()() {
    std::lock_guard lock(mu_);
    if (std::chrono::steady_clock::now() - fetched_ > 100ms) {
      fetched_ = std::chrono::steady_clock::now();
      current_.clear();
      for (const auto* m : monitors_)
        if (current_.empty())
          current_ = m->serving_primary();
    }
    const auto it = nodes_.find(current_);
    if (it == nodes_.end())
      return std::nullopt;
    return it->second;
  }

 private:
  std::vector<const MonitorProcess*> monitors_;
  std::map<std::string, db::DbNode> nodes_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point fetched_{};
  std::string current_;
};

std::set<int64_t> ids(const std::string& tsv) {
  std::set<int64_t> out;
  std::istringstream in(tsv);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty())
      out.insert(std::stoll(line));
  return out;
}

// ---- MariaDB ------------------------------------------------------------------------------

// A privilege list as the stack and compose grant it (deploy/compose/db-privileges): the
// monitor is tested with exactly what it gets.
std::string shipped_privileges(const std::string& name) {
  std::ifstream in(source_dir() + "/deploy/compose/db-privileges");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(name + "=\""))
      return line.substr(name.size() + 2, line.size() - name.size() - 3);
  throw std::runtime_error("deploy/compose/db-privileges has no " + name);
}

const std::vector<std::string> kMariadbReplication = {
    "rpl_semi_sync_slave_enabled=ON", "rpl_semi_sync_master_enabled=OFF",
    "rpl_semi_sync_master_wait_point=AFTER_SYNC", "slave_net_timeout=5"};

class MariadbMonitorIT : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = std::make_unique<MariadbServer>(MariadbServer::Options{
        .server_id = 1, .read_only = true, .extra_config = kMariadbReplication});
    b_ = std::make_unique<MariadbServer>(MariadbServer::Options{
        .server_id = 2, .read_only = true, .extra_config = kMariadbReplication});
    for (auto* s : {a_.get(), b_.get()})
      s->sql(
          "SET SESSION sql_log_bin = 0;"
          "CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY 'repl-pw';"
          "GRANT REPLICATION SLAVE, REPLICATION SLAVE ADMIN, BINLOG MONITOR ON *.* TO "
          "'repl'@'127.0.0.1';"
          "CREATE USER 'mon'@'127.0.0.1' IDENTIFIED BY 'mon-pw';"
          "GRANT " +
          shipped_privileges("MARIADB_MONITOR_PRIVILEGES") +
          " ON *.* TO "
          "'mon'@'127.0.0.1';"
          "GRANT " +
          shipped_privileges("MONITOR_SCHEMA_PRIVILEGES") +
          " TO 'mon'@'127.0.0.1';"
          "CREATE DATABASE w;"
          "CREATE TABLE w.t (id BIGINT PRIMARY KEY, writer INT NOT NULL);"
          "CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'app-pw';"
          "GRANT SELECT, INSERT ON w.* TO 'app'@'127.0.0.1';");
    b_->sql("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=" + std::to_string(a_->port()) +
            ", MASTER_USER='repl', MASTER_PASSWORD='repl-pw', MASTER_USE_GTID=slave_pos, "
            "MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=0.5; START SLAVE;");
  }

  std::string monitor_yaml(uint16_t a_port, const std::string& a_extra = "") const {
    return "cluster: it\nengine: mariadb\n"
           "login: { user: mon, password: mon-pw }\n"
           "replication: { user: repl, password: repl-pw }\n"
           "nodes:\n"
           "  - { name: a, port: " +
           std::to_string(a_port) + a_extra +
           " }\n  - { name: b, port: " + std::to_string(b_->port()) +
           " }\n"
           "failover: { bootstrap_primary: a, max_failovers: 100 }\n";
  }

  void start_monitor(const std::string& yaml) {
    monitor_ = std::make_unique<MonitorProcess>(yaml);
    ASSERT_TRUE(monitor_->wait_until(
        [](const auto& s) {
          return field(s, "serving_primary") == "a" && field(s, "replication_mode") == "sync";
        },
        20s))
        << monitor_->events() << monitor_->log();
  }

  std::unique_ptr<Writers> start_writers(std::vector<const MonitorProcess*> ask = {}) {
    if (ask.empty())
      ask.push_back(monitor_.get());
    lookup_ = std::make_unique<PrimaryLookup>(
        std::move(ask), std::map<std::string, db::DbNode>{{"a", a_->node("app", "app-pw", "w")},
                                                          {"b", b_->node("app", "app-pw", "w")}});
    auto driver = std::make_shared<db::MariadbDriver>(db::MysqlDialect::mariadb, 2s);
    return std::make_unique<Writers>(
        driver, [this] { return (*lookup_)(); }, "INSERT INTO w.t VALUES (?, ?)", 4);
  }

  // Every acknowledged id is on `node`, exactly once.
  void expect_all_present(const MariadbServer& node, const Writers& w) {
    const auto acked = w.acknowledged();
    const auto present = ids(node.query("SELECT id FROM w.t"));
    size_t missing = 0;
    for (int64_t id : acked)
      missing += present.contains(id) ? 0 : 1;
    EXPECT_EQ(missing, 0u) << "acknowledged writes lost, of " << acked.size();
    EXPECT_EQ(node.query("SELECT COUNT(*) - COUNT(DISTINCT id) FROM w.t"), "0\n");
  }

  // Runs writers through a fault of the primary; returns the promotion time.
  std::chrono::milliseconds fail_over(const std::function<void()>& fault,
                                      const std::function<void()>& after_promotion = {}) {
    auto writers = start_writers();
    const auto took = run_through_failover(*monitor_, *writers, "b", fault, after_promotion);
    expect_all_present(*b_, *writers);
    RecordProperty("promotion_ms", std::to_string(took.count()));
    RecordProperty("acknowledged", std::to_string(writers->acknowledged_count()));
    RecordProperty("unknown", std::to_string(writers->unknown()));
    return took;
  }

  std::unique_ptr<MariadbServer> a_, b_;
  std::unique_ptr<MonitorProcess> monitor_;
  std::unique_ptr<PrimaryLookup> lookup_;
};

TEST_F(MariadbMonitorIT, CrashedPrimaryReplacedAndRejoinsFencedWithoutLosingAWrite) {
  start_monitor(monitor_yaml(a_->port()));
  const auto took = fail_over([&] { a_->kill(); });
  EXPECT_LT(took, 10s);
  EXPECT_THAT(monitor_->events(), HasSubstr("\"event\":\"confirmed_down\""));
  // The old primary restarts read-only (its file says so). It rejoins as b's replica when it
  // has nothing b lacks; a crash can leave transactions in its binlog that no replica
  // acknowledged (no client saw them committed): then rejoining is refused, it stays fenced
  // and marked, and says why.
  a_->start();
  EXPECT_EQ(a_->query("SELECT @@global.read_only"), "1\n");
  std::string outcome;
  ASSERT_TRUE(monitor_->wait_until(
      [&](const auto& s) {
        const auto* a = node_of(s, "a");
        if (a && field(*a, "role") == "replica" && a->at("streaming").as_bool())
          outcome = "rejoined";
        else if (monitor_->events().find("\"event\":\"rejoin_refused\"") != std::string::npos)
          outcome = "refused";
        return !outcome.empty();
      },
      20s))
      << monitor_->events();
  EXPECT_EQ(a_->query("SELECT @@global.read_only"), "1\n");
  RecordProperty("old_primary", outcome);
  if (outcome == "refused") {
    EXPECT_THAT(monitor_->events(), HasSubstr("has transactions the primary lacks"));
    EXPECT_EQ(field(*node_of(monitor_->status(), "a"), "role"), "needs_rejoin");
    return;
  }
  // Synchronous again once a acknowledges and has caught up.
  EXPECT_TRUE(monitor_->wait_until(
      [](const auto& s) { return field(s, "replication_mode") == "sync"; }, 20s));
}

TEST_F(MariadbMonitorIT, HungPrimaryReplacedAndFencedWhenItContinues) {
  start_monitor(monitor_yaml(a_->port()));
  const auto took = fail_over([&] { a_->signal(SIGSTOP); },
                              [&] {
                                // It wakes up past detection: fenced at once, then rejoins.
                                a_->signal(SIGCONT);
                                expect_fenced(*monitor_, "a");
                              });
  EXPECT_LT(took, 10s);
  EXPECT_EQ(a_->query("SELECT @@global.read_only"), "1\n");
}

TEST_F(MariadbMonitorIT, HungPrimaryWithAFenceCommandIsRestartedAsAReplicaAndRejoins) {
  // Ending its sessions would commit its in-flight writes locally (it could then only be
  // re-cloned); killed and started as a replica, its recovery drops them and it rejoins.
  start_monitor(
      monitor_yaml(a_->port(), ", fence_command: \"kill -9 " + std::to_string(a_->pid()) + "\""));
  // Fenced while still hung, during the promotion: it never resumes as a writable primary.
  const auto took = fail_over([&] { a_->signal(SIGSTOP); },
                              [&] {
                                const auto until = std::chrono::steady_clock::now() + 20s;
                                while (a_->running() && std::chrono::steady_clock::now() < until)
                                  std::this_thread::sleep_for(20ms);
                                ASSERT_FALSE(a_->running()) << monitor_->events();
                              });
  EXPECT_LT(took, 10s);
  EXPECT_THAT(monitor_->events(), HasSubstr("\"way\":\"restart\",\"hung\":true"));
  // What its supervisor would do: start it again, as the replica role recovers.
  a_->kill();  // reaps it
  a_->start({"--init-rpl-role=SLAVE", "--rpl-semi-sync-slave-enabled=ON"});
  EXPECT_EQ(a_->query("SELECT @@global.read_only"), "1\n");
  ASSERT_TRUE(monitor_->wait_until(
      [](const auto& st) {
        const auto* a = node_of(st, "a");
        return a && field(*a, "role") == "replica" && a->at("streaming").as_bool() &&
               field(st, "replication_mode") == "sync";
      },
      30s))
      << monitor_->events();
  EXPECT_THAT(monitor_->events(), Not(HasSubstr("\"event\":\"rejoin_refused\"")));
}

// The second fault: a stop of the primary, the old one back in sync as a replica, then a
// hang of the new primary. No cooldown holds the healthy, in-sync replica back: it is
// promoted again, and no acknowledged write of either episode is lost.
TEST_F(MariadbMonitorIT, ASecondFaultAfterTheOldPrimaryRejoinsFailsOverAgain) {
  start_monitor(monitor_yaml(a_->port()) + "rejoin: { backoff: 500ms }\n");
  (void)fail_over([&] { a_->stop(); });
  a_->start();
  ASSERT_TRUE(monitor_->wait_until(
      [](const auto& s) {
        const auto* a = node_of(s, "a");
        return a && field(*a, "role") == "replica" && a->at("streaming").as_bool() &&
               field(s, "replication_mode") == "sync";
      },
      30s))
      << monitor_->events();
  auto writers = start_writers();
  const auto took = run_through_failover(
      *monitor_, *writers, "a", [&] { b_->signal(SIGSTOP); },
      [&] {
        b_->signal(SIGCONT);
        expect_fenced(*monitor_, "b");
      });
  EXPECT_LT(took, 10s);
  expect_all_present(*a_, *writers);
  EXPECT_EQ(monitor_->status().at("recent_failovers_ms").as_array().size(), 2u);
  EXPECT_THAT(monitor_->events(), Not(HasSubstr("failover_refused")));
}

// The flap guard against real servers: with max_failovers 2, two failovers go through
// (each old primary rejoining in between); the third fault within the window is held for a
// person, said so in /status and the events, and nothing is promoted; an acknowledgement
// releases it and the cluster fails over at once.
TEST_F(MariadbMonitorIT, TheFlapGuardHoldsTheFaultAfterMaxFailoversUntilAcknowledged) {
  std::string yaml = monitor_yaml(a_->port());
  yaml.replace(yaml.find("max_failovers: 100"), 18, "max_failovers: 2");
  start_monitor(yaml + "rejoin: { backoff: 500ms }\n");
  auto rejoined = [&](const char* name) {
    ASSERT_TRUE(monitor_->wait_until(
        [name](const auto& s) {
          const auto* n = node_of(s, name);
          return n && field(*n, "role") == "replica" && n->at("streaming").as_bool() &&
                 field(s, "replication_mode") == "sync";
        },
        30s))
        << monitor_->events();
  };
  (void)fail_over([&] { a_->stop(); });  // a -> b
  a_->start();
  rejoined("a");
  ASSERT_TRUE(
      monitor_->wait_until([](const auto& s) { return field(s, "serving_primary") == "b"; }, 10s));
  b_->stop();  // b -> a
  ASSERT_TRUE(
      monitor_->wait_until([](const auto& s) { return field(s, "serving_primary") == "a"; }, 20s))
      << monitor_->events();
  b_->start();
  rejoined("b");
  // The third fault within the window: held.
  a_->stop();
  ASSERT_TRUE(monitor_->wait_until(
      [](const auto& s) {
        const auto* blocked = s.if_contains("blocked");
        return blocked && blocked->is_string() &&
               std::string(blocked->as_string()).find("flap guard") != std::string::npos;
      },
      20s))
      << monitor_->events();
  EXPECT_THAT(monitor_->events(), HasSubstr("\"event\":\"flap_guard_held\""));
  EXPECT_EQ(monitor_->serving_primary(), "");
  EXPECT_EQ(b_->query("SELECT @@global.read_only"), "1\n") << "the replica was promoted";
  // A person looks, and acknowledges: the held failover goes ahead.
  const auto r =
      clients::curl_perform({.method = "POST",
                             .url = monitor_->url("/ack"),
                             .headers = {{"Authorization", "Bearer test-token-0123456789"}}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(
      monitor_->wait_until([](const auto& s) { return field(s, "serving_primary") == "b"; }, 20s))
      << monitor_->events();
}

// GET /primary as a long poll: an answer the caller already has (its version) is held until
// it changes or wait_ms passes; a promotion ends the wait at once.
// GET /metrics is the monitor's own view (docs/db-monitors.md): the topology and each
// node's state, not counts of HTTP requests.
TEST_F(MariadbMonitorIT, MetricsShowTheTopologyAndEachNode) {
  start_monitor(monitor_yaml(a_->port()));
  std::string body;
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until) {
    const auto r = clients::curl_perform({.url = monitor_->url("/metrics")});
    body = r.body;
    if (r.status == 200 &&
        body.find("medgate_dbmon_node_elected_primary{cluster=\"it\",node=\"a\"} 1") !=
            std::string::npos)
      break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_THAT(body, HasSubstr("medgate_dbmon_epoch{cluster=\"it\"}"));
  EXPECT_THAT(body, HasSubstr("medgate_dbmon_node_elected_primary{cluster=\"it\",node=\"a\"} 1"));
  EXPECT_THAT(body, HasSubstr("medgate_dbmon_node_up{cluster=\"it\",node=\"b\"} 1"));
  const auto missing = clients::curl_perform({.url = monitor_->url("/no-such-thing")});
  EXPECT_EQ(missing.status, 404);
  const auto wrong = clients::curl_perform({.method = "DELETE", .url = monitor_->url("/status")});
  EXPECT_EQ(wrong.status, 405);
}

TEST_F(MariadbMonitorIT, PrimaryIsALongPollThatEndsWhenTheAnswerChanges) {
  start_monitor(monitor_yaml(a_->port()));
  auto get = [&](const std::string& query) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = clients::curl_perform(
        {.url = monitor_->url("/primary" + query), .timeout = std::chrono::seconds(10)});
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    return std::make_pair(std::chrono::steady_clock::now() - t0,
                          !ec && v.is_object() ? v.as_object() : boost::json::object{});
  };
  const auto [quick, first] = get("");
  ASSERT_TRUE(first.contains("version")) << boost::json::serialize(first);
  const std::string version(first.at("version").as_string());
  EXPECT_THAT(version, ::testing::StartsWith(std::to_string(first.at("epoch").as_int64()) + ":a"));
  const auto [held, same] = get("?wait_ms=400&known=" + version);
  EXPECT_GE(held, 380ms) << "an unchanged answer was not held";
  EXPECT_EQ(same.at("version").as_string(), version);
  const auto [at_once, other] = get("?wait_ms=5000&known=something-else");
  EXPECT_LT(at_once, 300ms);
  // Held while the primary is stopped and b promoted: answered when b serves.
  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);
    a_->stop();
  });
  std::string serving;
  std::string known = version;
  int answers = 0;
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (serving != "b" && std::chrono::steady_clock::now() < until) {
    const auto [took, answer] = get("?wait_ms=5000&known=" + known);
    ++answers;
    const auto* p = answer.if_contains("primary");
    serving = p ? std::string(p->as_object().at("name").as_string()) : "";
    if (const auto* v = answer.if_contains("version"))
      known = std::string(v->as_string());
  }
  EXPECT_LE(answers, 6) << "each answer should be a change, not a poll";
  stopper.join();
  EXPECT_EQ(serving, "b") << monitor_->events();
}

TEST_F(MariadbMonitorIT, MonitorCutOffFromAHealthyPrimaryPromotesNothing) {
  TcpProxy view_of_a(a_->port());
  start_monitor(monitor_yaml(
      view_of_a.port(), ", replication_address: \"127.0.0.1:" + std::to_string(a_->port()) + "\""));
  const auto epoch = monitor_->status().at("epoch").as_int64();
  // A start wrapper asking how b may start is told to follow a at its replication address,
  // not at the monitor's view of it.
  const auto role = clients::curl_perform({.url = monitor_->url("/role/b")});
  EXPECT_EQ(role.status, 200);
  EXPECT_EQ(role.body, "role=standby\nepoch=" + std::to_string(epoch) +
                           "\nprimary_name=a\nprimary_host=127.0.0.1\nprimary_port=" +
                           std::to_string(a_->port()) + "\n");
  EXPECT_EQ(clients::curl_perform({.url = monitor_->url("/role/nobody")}).status, 404);
  // The containers' start wrappers ask the same with bash alone (deploy/compose/monitor-role).
  const std::string out = monitor_->dir() + "/monitor-role.out";
  const std::string port = monitor_->url("").substr(monitor_->url("").rfind(':') + 1);
  EXPECT_EQ(run_command({"/bin/bash", source_dir() + "/deploy/compose/monitor-role", "127.0.0.1",
                         port, "b"},
                        out, 10s),
            0);
  {
    std::ifstream in(out);
    const std::string printed{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    EXPECT_EQ(printed, role.body) << "what the wrapper reads is what the monitor said";
  }
  EXPECT_NE(run_command({"/bin/bash", source_dir() + "/deploy/compose/monitor-role", "127.0.0.1",
                         port, "nobody"},
                        out, 10s),
            0);
  view_of_a.blackhole(true);
  ASSERT_TRUE(
      monitor_->wait_until([](const auto& s) { return field(s, "state") == "unreachable"; }, 10s))
      << monitor_->events();
  // Well past detection and the replicas' confirmation window: still no promotion.
  std::this_thread::sleep_for(4s);
  const auto s = monitor_->status();
  EXPECT_EQ(field(s, "state"), "unreachable");
  EXPECT_EQ(s.at("epoch").as_int64(), epoch);
  EXPECT_EQ(field(s, "primary"), "a");
  EXPECT_EQ(b_->query("SELECT @@global.read_only"), "1\n");
  EXPECT_THAT(monitor_->events(), ::testing::Not(HasSubstr("promote_start")));
  view_of_a.blackhole(false);
  EXPECT_TRUE(monitor_->wait_until(
      [](const auto& st) { return field(st, "serving_primary") == "a"; }, 10s));
}

// ---- two monitors on a three-member etcd -------------------------------------------------

class MariadbMonitorsOnEtcdIT : public MariadbMonitorIT {
 protected:
  void start_monitors() {
    etcd_ = std::make_unique<EtcdCluster>(3);
    for (const char* member : {"m1", "m2"})
      monitors_.push_back(std::make_unique<MonitorProcess>(
          monitor_yaml(a_->port()) + "etcd: { endpoints: \"" + etcd_->endpoints() +
          "\", member: " + member + ", lease_ttl: 3s, renew_every: 500ms, margin: 1s }\n"));
    ASSERT_TRUE(wait_for([&] {
      const int i = acting();
      return i >= 0 &&
             field(monitors_[static_cast<size_t>(i)]->status(), "serving_primary") == "a" &&
             field(monitors_[static_cast<size_t>(i)]->status(), "replication_mode") == "sync";
    })) << monitors_[0]->events()
        << monitors_[1]->events();
  }
  // The monitor whose status says it acts (-1: none, or both, which must never be).
  int acting() const {
    int found = -1, count = 0;
    for (size_t i = 0; i < monitors_.size(); ++i) {
      if (!monitors_[i])
        continue;
      const auto s = monitors_[i]->status();
      if (const auto* a = s.if_contains("acting"); a && a->is_bool() && a->as_bool()) {
        found = static_cast<int>(i);
        ++count;
      }
    }
    EXPECT_LE(count, 1) << "two monitors act at once";
    return count == 1 ? found : -1;
  }
  static bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds t = 20s) {
    const auto until = std::chrono::steady_clock::now() + t;
    while (std::chrono::steady_clock::now() < until) {
      if (pred())
        return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  std::vector<const MonitorProcess*> all() const {
    std::vector<const MonitorProcess*> out;
    for (const auto& m : monitors_)
      if (m)
        out.push_back(m.get());
    return out;
  }

  std::unique_ptr<EtcdCluster> etcd_;
  std::vector<std::unique_ptr<MonitorProcess>> monitors_;
};

// The acting monitor dies (kill -9), then the primary: the other monitor takes the lease
// and promotes; every acknowledged write is on the new primary.
TEST_F(MariadbMonitorsOnEtcdIT, TheOtherMonitorPromotesWhenTheActingOneIsKilled) {
  start_monitors();
  const int first = acting();
  ASSERT_GE(first, 0);
  const size_t other = first == 0 ? 1 : 0;
  EXPECT_EQ(field(monitors_[other]->status(), "state"), "standby");
  auto writers = start_writers(all());
  while (writers->acknowledged_count() < 50)
    std::this_thread::sleep_for(10ms);
  monitors_[static_cast<size_t>(first)]->kill();
  monitors_[static_cast<size_t>(first)].reset();
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_for([&] { return acting() == static_cast<int>(other); }))
      << monitors_[other]->events();
  RecordProperty("takeover_ms",
                 std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - t0)
                                    .count()));
  const auto took = run_through_failover(*monitors_[other], *writers, "b", [&] { a_->kill(); }, {});
  EXPECT_LT(took, 10s);
  expect_all_present(*b_, *writers);
  EXPECT_EQ(b_->query("SELECT @@global.read_only"), "0\n");
}

// The acting monitor is paused past its lease; the other takes over and promotes. When the
// first continues, its writes to etcd are refused and it touches no database.
TEST_F(MariadbMonitorsOnEtcdIT, APausedMonitorWakesUpToFindItMayNotAct) {
  start_monitors();
  const int first_i = acting();
  ASSERT_GE(first_i, 0);
  MonitorProcess& first = *monitors_[static_cast<size_t>(first_i)];
  MonitorProcess& other = *monitors_[first_i == 0 ? 1 : 0];
  first.signal(SIGSTOP);
  ASSERT_TRUE(wait_for([&] {
    const auto s = other.status();
    const auto* a = s.if_contains("acting");
    return a && a->is_bool() && a->as_bool();
  })) << other.events();
  auto writers = start_writers({&other});
  const auto took = run_through_failover(other, *writers, "b", [&] { a_->signal(SIGSTOP); }, {});
  EXPECT_LT(took, 10s);
  const auto epoch = other.status().at("epoch").as_int64();
  const size_t seen = first.events().size();
  first.signal(SIGCONT);
  // It follows the new record and counts rounds again, as a standby.
  ASSERT_TRUE(first.wait_until(
      [&](const auto& s) {
        return s.at("epoch").as_int64() == epoch && field(s, "state") == "standby" &&
               !s.at("acting").as_bool();
      },
      15s))
      << first.events().substr(seen);
  const auto rounds = first.status().at("rounds").as_int64();
  ASSERT_TRUE(first.wait_until(
      [&](const auto& s) { return s.at("rounds").as_int64() >= rounds + 3; }, 15s));
  const std::string after = first.events().substr(seen);
  for (const char* act : {"\"promote_start\"", "\"fence_attempt\"", "\"made_writable\"",
                          "\"rejoin_attempt\"", "\"sync_set\"", "\"topology_published\""})
    EXPECT_THAT(after, Not(HasSubstr(act))) << "the paused monitor acted on waking";
  a_->signal(SIGCONT);
  expect_all_present(*b_, *writers);
  expect_fenced(other, "a");
  EXPECT_EQ(b_->query("SELECT @@global.read_only"), "0\n");
}

// A node's start wrapper may ask either monitor how to start. The standby's own rounds are a
// minute apart here, so its snapshot still names the old primary after the failover; its
// answer must come from the record as stored, or a returning old primary starts writable.
TEST_F(MariadbMonitorsOnEtcdIT, AStandbyMonitorAnswersRoleFromTheRecordJustCommitted) {
  etcd_ = std::make_unique<EtcdCluster>(3);
  const std::string etcd_yaml = "etcd: { endpoints: \"" + etcd_->endpoints() +
                                "\", lease_ttl: 3s, renew_every: 500ms, margin: 1s, member: ";
  monitors_.push_back(
      std::make_unique<MonitorProcess>(monitor_yaml(a_->port()) + etcd_yaml + "m1 }\n"));
  ASSERT_TRUE(wait_for([&] {
    const auto s = monitors_[0]->status();
    return acting() == 0 && field(s, "serving_primary") == "a" &&
           field(s, "replication_mode") == "sync";
  })) << monitors_[0]->events();
  monitors_.push_back(std::make_unique<MonitorProcess>(monitor_yaml(a_->port()) + etcd_yaml +
                                                       "m2 }\nchecks: { interval: 60s }\n"));
  ASSERT_TRUE(wait_for([&] { return field(monitors_[1]->status(), "state") == "standby"; }))
      << monitors_[1]->events();
  const auto role_of_a = [&](const MonitorProcess& m) {
    return clients::curl_perform({.url = m.url("/role/a"), .timeout = 3s}).body;
  };
  EXPECT_THAT(role_of_a(*monitors_[1]), ::testing::StartsWith("role=primary\n"));
  a_->kill();
  ASSERT_TRUE(wait_for([&] { return monitors_[0]->serving_primary() == "b"; }))
      << monitors_[0]->events();
  const auto epoch = monitors_[0]->status().at("epoch").as_int64();
  EXPECT_LT(monitors_[1]->status().at("epoch").as_int64(), epoch)
      << "the standby's snapshot already has the new record: the test proves nothing";
  for (const auto* m : {monitors_[1].get(), monitors_[0].get()})
    EXPECT_EQ(role_of_a(*m), "role=standby\nepoch=" + std::to_string(epoch) +
                                 "\nprimary_name=b\nprimary_host=127.0.0.1\nprimary_port=" +
                                 std::to_string(b_->port()) + "\n");
}

// One etcd member of three stopped: nothing changes. Two: no monitor acts, each says why,
// and the primary keeps taking writes. Quorum back: one acts again.
TEST_F(MariadbMonitorsOnEtcdIT, LosingEtcdQuorumStopsTheMonitorsNotTheDatabase) {
  start_monitors();
  const int first = acting();
  ASSERT_GE(first, 0);
  const auto epoch = monitors_[static_cast<size_t>(first)]->status().at("epoch").as_int64();
  etcd_->stop(0);
  const auto rounds = monitors_[0]->status().at("rounds").as_int64();
  ASSERT_TRUE(monitors_[0]->wait_until(
      [&](const auto& s) { return s.at("rounds").as_int64() >= rounds + 5; }, 15s));
  EXPECT_EQ(acting(), first);
  EXPECT_EQ(monitors_[static_cast<size_t>(first)]->status().at("epoch").as_int64(), epoch);

  auto writers = start_writers(all());
  while (writers->acknowledged_count() < 50)
    std::this_thread::sleep_for(10ms);
  etcd_->stop(1);
  ASSERT_TRUE(wait_for([&] {
    for (const auto& m : monitors_) {
      const auto s = m->status();
      if (s.empty() || s.at("acting").as_bool() || field(s, "why_not_acting").empty())
        return false;
    }
    return true;
  })) << monitors_[0]->events();
  EXPECT_THAT(field(monitors_[static_cast<size_t>(first)]->status(), "why_not_acting"),
              HasSubstr("no live lease"));
  EXPECT_THAT(monitors_[static_cast<size_t>(first)]->events(), HasSubstr("\"stopped_acting\""));
  const size_t before = writers->acknowledged_count();
  ASSERT_TRUE(wait_for([&] { return writers->acknowledged_count() >= before + 50; }, 10s))
      << "writes stopped while etcd had no quorum";
  etcd_->start(1);
  EXPECT_TRUE(wait_for([&] { return acting() >= 0; }, 30s)) << monitors_[0]->events();
  writers->stop();
  expect_all_present(*a_, *writers);
}

// The acting monitor dies between two steps of a promotion (DB_MONITOR_CRASH_AFTER: it exits
// right after the step's event); the other takes the lease and finishes or redoes it. At the
// end b alone takes writes and every acknowledged write is on it.
class MonitorKilledMidPromotionIT : public MariadbMonitorsOnEtcdIT,
                                    public ::testing::WithParamInterface<const char*> {};

TEST_P(MonitorKilledMidPromotionIT, TheSurvivorFinishesIt) {
  etcd_ = std::make_unique<EtcdCluster>(3);
  auto monitor = [&](const char* member) {
    return std::make_unique<MonitorProcess>(monitor_yaml(a_->port()) + "etcd: { endpoints: \"" +
                                            etcd_->endpoints() + "\", member: " + member +
                                            ", lease_ttl: 3s, renew_every: 500ms, margin: 1s }\n");
  };
  // m1 starts alone, so it is the one that acts (and carries the crash point).
  ::setenv("DB_MONITOR_CRASH_AFTER", GetParam(), 1);
  monitors_.push_back(monitor("m1"));
  ::unsetenv("DB_MONITOR_CRASH_AFTER");
  ASSERT_TRUE(monitors_[0]->wait_until(
      [](const auto& s) {
        return field(s, "serving_primary") == "a" && field(s, "replication_mode") == "sync";
      },
      20s))
      << monitors_[0]->events();
  monitors_.push_back(monitor("m2"));
  ASSERT_TRUE(monitors_[1]->wait_until(
      [](const auto& s) { return field(s, "state") == "standby" && field(s, "primary") == "a"; },
      20s));
  ASSERT_EQ(acting(), 0);
  auto writers = start_writers(all());
  const auto took = run_through_failover(*monitors_[1], *writers, "b", [&] { a_->kill(); }, {});
  EXPECT_LT(took, 15s);
  EXPECT_FALSE(monitors_[0]->running());
  EXPECT_EQ(monitors_[0]->exit_status(), 70) << "m1 did not die at " << GetParam();
  const std::string last = std::string(GetParam()).substr(std::string(GetParam()).rfind(',') + 1);
  EXPECT_THAT(monitors_[0]->events(), HasSubstr("\"event\":\"" + last + "\""));
  expect_all_present(*b_, *writers);
  EXPECT_EQ(b_->query("SELECT @@global.read_only"), "0\n");
  // m2 acts once m1's lease has expired, and finds nothing left to do but keep b.
  EXPECT_TRUE(monitors_[1]->wait_until(
      [](const auto& s) {
        return s.at("acting").as_bool() && field(s, "state") == "healthy" &&
               field(s, "primary") == "b";
      },
      15s))
      << monitors_[1]->events();
}

INSTANTIATE_TEST_SUITE_P(Steps, MonitorKilledMidPromotionIT,
                         ::testing::Values("confirmed_down,candidate_selected",
                                           "confirmed_down,topology_published",
                                           "confirmed_down,fence_result", "promote_start",
                                           "promote_done"),
                         [](const auto& info) {
                           std::string name = info.param;
                           name = name.substr(name.rfind(',') + 1);
                           return name;
                         });

// ---- PostgreSQL ---------------------------------------------------------------------------

// The monitor's role as the stack and compose make it (deploy/compose/postgres/
// monitor-role.sql), one statement per line, with the password psql would put in.
void make_shipped_monitor_role(const PostgresServer& server, const std::string& password) {
  std::ifstream in(source_dir() + "/deploy/compose/postgres/monitor-role.sql");
  const std::string var = ":'monitor_password'";
  size_t statements = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.starts_with("--"))
      continue;
    if (const size_t at = line.find(var); at != std::string::npos)
      line.replace(at, var.size(), "'" + password + "'");
    server.sql(line);
    ++statements;
  }
  if (statements < 5)
    throw std::runtime_error("deploy/compose/postgres/monitor-role.sql: too few statements");
}

class PostgresMonitorIT : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = std::make_unique<PostgresServer>(
        std::vector<std::string>{"wal_receiver_timeout = 2s", "wal_receiver_status_interval = 1s",
                                 "wal_log_hints = on", "wal_keep_size = 256MB"});
    a_->sql("CREATE ROLE app LOGIN PASSWORD 'app-pw'");
    a_->sql("CREATE TABLE t (id bigint PRIMARY KEY, writer int NOT NULL)");
    a_->sql("GRANT SELECT, INSERT ON t TO app");
    make_shipped_monitor_role(*a_, "mon-pw");
    b_ = PostgresServer::standby_of(*a_, "b");
    monitor_ = std::make_unique<MonitorProcess>(
        "cluster: it\nengine: postgresql\nlogin: { user: medgate_monitor, password: mon-pw }\n"
        "replication: { user: postgres }\nnodes:\n  - { name: a, port: " +
        std::to_string(a_->port()) + " }\n  - { name: b, port: " + std::to_string(b_->port()) +
        " }\nfailover: { bootstrap_primary: a, max_failovers: 100 }\n");
    ASSERT_TRUE(monitor_->wait_until(
        [](const auto& s) {
          return field(s, "serving_primary") == "a" && field(s, "replication_mode") == "sync";
        },
        20s))
        << monitor_->events() << monitor_->log();
  }

  std::chrono::milliseconds fail_over(const std::function<void()>& fault,
                                      const std::function<void()>& after_promotion) {
    PrimaryLookup lookup(*monitor_, {{"a", a_->node("app", "app-pw", "postgres")},
                                     {"b", b_->node("app", "app-pw", "postgres")}});
    Writers writers(
        std::make_shared<db::PostgresDriver>(2s), [&] { return lookup(); },
        "INSERT INTO t VALUES ($1, $2)", 4);
    const auto took = run_through_failover(*monitor_, writers, "b", fault, after_promotion);
    db::PostgresDriver driver(5s);
    auto conn = driver.connect(b_->node("postgres", "", "postgres"), 5s);
    const auto rows = conn->execute("SELECT id FROM t", {});
    std::set<int64_t> present;
    for (const auto& r : rows.rows)
      present.insert(std::stoll(*r[0]));
    EXPECT_EQ(present.size(), rows.rows.size());
    size_t missing = 0;
    std::string which;
    for (int64_t id : writers.acknowledged())
      if (!present.contains(id)) {
        ++missing;
        which += std::to_string(id) + " ";
      }
    EXPECT_EQ(missing, 0u) << "acknowledged writes lost, of " << writers.acknowledged_count()
                           << ": " << which << "\n"
                           << monitor_->events();
    RecordProperty("promotion_ms", std::to_string(took.count()));
    return took;
  }

  std::unique_ptr<PostgresServer> a_, b_;
  std::unique_ptr<MonitorProcess> monitor_;
};

TEST_F(PostgresMonitorIT, CrashedPrimaryReplacedThenRestartedAsAStandbyByItsWrapper) {
  const auto took = fail_over([&] { a_->signal_all(SIGKILL); },
                              [&] {
                                const auto s = monitor_->status();
                                const auto* a = node_of(s, "a");
                                ASSERT_TRUE(a);
                                EXPECT_EQ(field(*a, "role"), "needs_rejoin");
                              });
  EXPECT_LT(took, 10s);
  // Restarted the way the local stack restarts it: through scripts/lib/pg-node-start, which
  // asks the monitor's record, rewinds the old primary and starts it as b's standby. Both
  // programs copied where the postgres user may run them (the checkout may be closed to it).
  a_->start_through(
      {"/usr/bin/env",
       "DB_MONITOR_BIN=" + executable_copy(binary_dir() + "/apps/db-monitor", monitor_->dir()),
       "PG_MONITOR_CONFIG=" + monitor_->config_path(),
       executable_copy(source_dir() + "/scripts/lib/pg-node-start", monitor_->dir()), "a",
       a_->data_dir()});
  ASSERT_TRUE(monitor_->wait_until(
      [](const auto& s) {
        const auto* a = node_of(s, "a");
        return a && field(*a, "role") == "replica" && a->at("streaming").as_bool();
      },
      20s))
      << monitor_->events();
  db::PostgresDriver driver(5s);
  auto conn = driver.connect(a_->node("postgres", "", "postgres"), 5s);
  EXPECT_EQ(*conn->execute("SELECT pg_is_in_recovery()::text", {}).rows[0][0], "true");
  EXPECT_TRUE(monitor_->wait_until(
      [](const auto& s) { return field(s, "replication_mode") == "sync"; }, 20s));
}

TEST_F(PostgresMonitorIT, HungPrimaryReplacedAndFencedWhenItContinues) {
  const auto took = fail_over([&] { a_->signal_all(SIGSTOP); },
                              [&] {
                                a_->signal_all(SIGCONT);
                                expect_fenced(*monitor_, "a");
                              });
  EXPECT_LT(took, 10s);
  // Its sessions were ended and new transactions are read-only.
  db::PostgresDriver driver(5s);
  auto conn = driver.connect(a_->node("app", "app-pw", "postgres"), 5s);
  EXPECT_THROW((void)conn->execute("INSERT INTO t VALUES (-1, -1)", {}), db::DbError);
}

}  // namespace
}  // namespace medgate::testing
