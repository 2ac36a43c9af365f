// db-monitor's configuration: defaults, and errors that name the file, line and key.
#include "db-monitors/monitor_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/process.hpp"

namespace medgate::dbmon {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class MonitorConfigTest : public ::testing::Test {
 protected:
  ~MonitorConfigTest() override { std::filesystem::remove_all(dir_); }
  MonitorConfig load(const std::string& nodes, const std::string& extra = "") {
    std::ofstream(path_) << "cluster: c\nengine: postgresql\nlisten: { port: 8012 }\n"
                            "login: { user: postgres }\n"
                         // With etcd endpoints no state file is needed.
                         << (extra.find("http://") == std::string::npos
                                 ? "state_file: /tmp/x.json\n"
                                 : "")
                         << "replication: { user: repl }\nnodes:\n"
                         << nodes << extra;
    return load_monitor_config(path_, [](const std::string&) { return std::nullopt; });
  }
  std::string error_of(const std::string& nodes, const std::string& extra = "") {
    try {
      (void)load(nodes, extra);
    } catch (const config::ConfigError& e) {
      return e.what();
    }
    return "no error";
  }
  std::string dir_ = testing::make_temp_dir("dbmon-config-");
  std::string path_ = dir_ + "/monitor.yaml";
};

const std::string kTwo = "  - { name: a, port: 5433 }\n  - { name: b, port: 5434 }\n";

TEST_F(MonitorConfigTest, DefaultsForAPostgresPair) {
  const MonitorConfig c = load(kTwo);
  EXPECT_EQ(c.engine, EngineKind::postgresql);
  EXPECT_EQ(c.monitor.login.database, "postgres");
  EXPECT_EQ(c.monitor.interval, 500ms);
  EXPECT_EQ(c.monitor.check_timeout, 400ms);
  EXPECT_EQ(c.monitor.core.failures_to_down, 3u);
  EXPECT_EQ(c.monitor.core.max_lag_on_failover, 16ULL << 20);  // bytes of WAL
  EXPECT_EQ(c.monitor.core.relax_after, 5s);
  EXPECT_EQ(c.monitor.core.max_failovers, 3u);
  EXPECT_EQ(c.monitor.core.flap_window, 10min);
  EXPECT_TRUE(c.api_token.empty());
  ASSERT_EQ(c.monitor.nodes.size(), 2u);
  EXPECT_EQ(c.monitor.nodes[1].spec.address(), "127.0.0.1:5434");
}

TEST_F(MonitorConfigTest, NodeNamesAreBoundedAndPlain) {
  EXPECT_THAT(error_of("  - { name: \"a\\nrole=primary\", port: 1 }\n  - { name: b, port: 2 }\n"),
              HasSubstr("monitor.yaml:8:"));
  EXPECT_THAT(error_of("  - { name: \"a b\", port: 1 }\n  - { name: b, port: 2 }\n"),
              HasSubstr("nodes[0].name: must be 1-63 of"));
  EXPECT_THAT(error_of("  - { name: a, port: 1 }\n  - { name: a, port: 2 }\n"),
              HasSubstr("duplicate node name 'a'"));
  EXPECT_THAT(error_of("  - { name: a, port: 1 }\n"), HasSubstr("at least two nodes"));
  // Hosts reach start wrappers' key=value lines and replication statements too.
  EXPECT_THAT(error_of("  - { name: a, host: \"db\\nrole=primary\", port: 1 }\n"
                       "  - { name: b, port: 2 }\n"),
              HasSubstr("nodes[0].host: must be a host name or address"));
  EXPECT_THAT(error_of("  - { name: a, port: 1, replication_address: \"x'y:5\" }\n"
                       "  - { name: b, host: mariadb-replica, port: 2 }\n"),
              HasSubstr("must be host:port"));
}

TEST_F(MonitorConfigTest, CrossChecks) {
  EXPECT_THAT(error_of(kTwo, "failover: { bootstrap_primary: z }\n"),
              HasSubstr("failover.bootstrap_primary: must name one of the nodes"));
  EXPECT_THAT(error_of(kTwo, "checks: { interval: 1s, timeout: 1s }\n"),
              HasSubstr("timeout must be shorter than interval"));
  EXPECT_THAT(error_of(kTwo, "checks: { intervall: 1s }\n"), HasSubstr("did you mean"));
  // The old fixed cooldown is gone; a file that still sets it is told what replaced it.
  EXPECT_THAT(error_of(kTwo, "failover: { cooldown: 5m }\n"),
              HasSubstr("failover.cooldown: was replaced by the flap guard"));
  EXPECT_THAT(error_of(kTwo, "failover: { max_failovers: 0 }\n"), HasSubstr("max_failovers"));
  EXPECT_THAT(error_of("  - { name: a, port: 1, replication_address: \"nohost\" }\n"
                       "  - { name: b, port: 2 }\n"),
              HasSubstr("must be host:port"));
}

// With etcd the record lives there: no state file needed, and the lease's timing is checked.
TEST_F(MonitorConfigTest, EtcdCoordination) {
  const MonitorConfig c = load(kTwo,
                               "etcd: { endpoints: \"http://127.0.0.1:2379, "
                               "http://127.0.0.2:2379\", member: m-1 }\n");
  ASSERT_EQ(c.etcd.endpoints.size(), 2u);
  EXPECT_EQ(c.etcd.member, "m-1");
  EXPECT_EQ(c.etcd.cluster, "c");
  EXPECT_EQ(c.etcd.ttl, 3s);
  // Empty endpoints (an unset variable): one monitor on its state file, as before.
  EXPECT_TRUE(load(kTwo, "etcd: { endpoints: \"\", member: m1 }\n").etcd.endpoints.empty());
  EXPECT_THAT(error_of(kTwo, "etcd: { endpoints: \"127.0.0.1:2379\", member: m1 }\n"),
              HasSubstr("etcd.endpoints: each endpoint is http://host:port or https://"));
  EXPECT_THAT(error_of(kTwo, "etcd: { endpoints: \"http://e:2379\" }\n"),
              HasSubstr("etcd.member: must be 1-63"));
  EXPECT_THAT(error_of(kTwo,
                       "etcd: { endpoints: \"http://e:2379\", member: m1, "
                       "lease_ttl: 2s, renew_every: 1s, margin: 1s }\n"),
              HasSubstr("renew_every + margin must be shorter than lease_ttl"));
  EXPECT_THAT(error_of(kTwo,
                       "etcd: { endpoints: \"http://e:2379\", member: m1, "
                       "lease_ttl: 2500ms }\n"),
              HasSubstr("whole seconds"));
}

}  // namespace
}  // namespace medgate::dbmon
