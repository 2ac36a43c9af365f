// medgate restarted under load through medgate-launcher: the launcher holds the listening
// socket, a SIGHUP starts a new medgate on it and drains the old one. Clients see no refused
// connection and no failed request; a configuration that does not load is refused and the
// running medgate stays.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/gateway_fixture.hpp"

namespace medgate::testing {
namespace {

using namespace std::chrono_literals;

class GatewayRestart : public GatewayFixture {
 protected:
  void write_config(const std::string& extra = "") {
    std::ofstream(dir_ + "/medgate.yaml")
        << "listen: { address: 127.0.0.1, port: " << gateway_port_ << " }\n"
        << "auth: { enabled: false }\nthreads: 2\naccess_log: { enabled: false }\n"
        << extra << "upstreams:\n  medical:\n    endpoints: [ \"" << upstream_url(primary_port_)
        << "\" ]\nroutes:\n  - { prefix: /api/medical/, upstream: medical, strip_prefix: "
           "/api/medical }\n";
  }
  std::string launcher_log() const {
    std::ifstream in(dir_ + "/launcher.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  bool wait_log(const std::string& needle, size_t count) {
    for (int i = 0; i < 500; ++i) {
      const std::string log = launcher_log();
      size_t n = 0;
      for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1))
        ++n;
      if (n >= count)
        return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
};

TEST_F(GatewayRestart, HandOverUnderLoadFailsNothingAndABrokenConfigurationIsRefused) {
  gateway_port_ = free_port();
  write_config();
  ChildProcess launcher({binary_dir() + "/apps/medgate-launcher", "--listen",
                         "127.0.0.1:" + std::to_string(gateway_port_), "--",
                         binary_dir() + "/apps/medgate", "--config", dir_ + "/medgate.yaml"},
                        dir_ + "/launcher.log");
  ASSERT_TRUE(wait_for_http(gw("/health/liveness"), 10s)) << launcher.log();

  // Four clients, each request on a new connection (a refused connect would show).
  std::atomic<bool> done{false};
  std::atomic<int> sent{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c)
    clients.emplace_back([&] {
      for (int i = 0; i < 5000 && !done; ++i) {
        const auto r = get("/api/medical/ok");
        ++sent;
        failed += r.status == 200 ? 0 : 1;
      }
    });
  auto wait_sent = [&](int n) {
    const int target = sent + n;
    for (int i = 0; i < 1000 && sent < target; ++i)
      std::this_thread::sleep_for(5ms);
  };
  wait_sent(100);
  launcher.signal(SIGHUP);
  ASSERT_TRUE(wait_log(" serves; ", 1)) << launcher_log();
  wait_sent(100);
  launcher.signal(SIGHUP);
  ASSERT_TRUE(wait_log(" serves; ", 2)) << launcher_log();
  wait_sent(100);

  // A configuration that does not load: refused, the running medgate stays and serves.
  std::ofstream(dir_ + "/medgate.yaml") << "listen: { port: [ not a port\n";
  launcher.signal(SIGHUP);
  ASSERT_TRUE(wait_log("did not become ready", 1)) << launcher_log();
  wait_sent(100);
  done = true;
  for (auto& t : clients)
    t.join();
  EXPECT_GE(sent.load(), 400);
  EXPECT_EQ(failed.load(), 0) << "of " << sent.load();
  EXPECT_EQ(get("/health/liveness").status, 200);
  EXPECT_THAT(launcher.log(), ::testing::HasSubstr("YAML"));  // the new one said why

  EXPECT_EQ(launcher.stop(SIGTERM, 15s), 0) << launcher_log();
}

// A reload keeps what medgate learnt about an upstream whose settings did not change: its
// open breaker stays open (same reason, the rest of its period) and sends no traffic; an
// upstream whose settings changed starts afresh.
TEST_F(GatewayRestart, AReloadKeepsTheBreakerOfAnUnchangedUpstreamAndForgetsAChangedOne) {
  gateway_port_ = free_port();
  const auto config = [&](const std::string& admin_timeout) {
    std::ofstream(dir_ + "/medgate.yaml")
        << "listen: { address: 127.0.0.1, port: " << gateway_port_ << " }\n"
        << "auth: { enabled: false }\nthreads: 2\naccess_log: { enabled: false }\n"
        << "upstreams:\n"
        << "  medical:\n    endpoints: [ \"" << upstream_url(primary_port_) << "\" ]\n"
        << "    retry: { attempts: 1 }\n"
        << "    breaker: { consecutive_failures: 3, failure_rate: 0, open_for: 60s }\n"
        << "  administrative:\n    endpoints: [ \"" << upstream_url(replica_port_) << "\" ]\n"
        << "    timeout: " << admin_timeout << "\n    retry: { attempts: 1 }\n"
        << "    breaker: { consecutive_failures: 3, failure_rate: 0, open_for: 60s }\n"
        << "routes:\n  - { prefix: /api/medical/, upstream: medical, strip_prefix: /api/medical }\n"
        << "  - { prefix: /api/admin/, upstream: administrative, strip_prefix: /api/admin }\n";
  };
  config("2s");
  ChildProcess launcher({binary_dir() + "/apps/medgate-launcher", "--listen",
                         "127.0.0.1:" + std::to_string(gateway_port_), "--",
                         binary_dir() + "/apps/medgate", "--config", dir_ + "/medgate.yaml"},
                        dir_ + "/launcher.log");
  ASSERT_TRUE(wait_for_http(gw("/health/liveness"), 10s)) << launcher.log();
  fault(primary_port_, "status:500");
  fault(replica_port_, "status:500");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(get("/api/medical/ok").status, 500);
    EXPECT_EQ(get("/api/admin/ok").status, 500);
  }
  ASSERT_EQ(json_get_raw(get("/api/medical/ok").body, "breaker"), "open");
  ASSERT_EQ(json_get_raw(get("/api/admin/ok").body, "breaker"), "open");

  config("3s");  // the administrative upstream changes, the medical one does not
  launcher.signal(SIGHUP);
  ASSERT_TRUE(wait_log(" serves; ", 1)) << launcher_log();
  EXPECT_THAT(launcher.log(),
              ::testing::HasSubstr("upstream medical: state taken over (breaker open)"));
  EXPECT_THAT(launcher.log(),
              ::testing::HasSubstr("upstream administrative: settings changed, starts afresh"));
  const long medical_before = upstream_requests(primary_port_);
  const auto open = get("/api/medical/ok");
  EXPECT_EQ(open.status, 503) << "still open in the new process";
  EXPECT_EQ(json_get_raw(open.body, "breaker"), "open");
  EXPECT_EQ(upstream_requests(primary_port_), medical_before) << "and it sends nothing";
  const int retry_after = std::stoi(open.header("retry-after"));
  EXPECT_GT(retry_after, 30) << "the rest of its 60 s, not a new period of its own";
  EXPECT_LE(retry_after, 60);
  EXPECT_THAT(get("/health").body, ::testing::HasSubstr("carried over from the previous medgate: "
                                                        "3 consecutive failures"));
  EXPECT_EQ(get("/api/admin/ok").status, 500) << "the changed upstream starts closed";

  EXPECT_EQ(launcher.stop(SIGTERM, 15s), 0) << launcher_log();
}

}  // namespace
}  // namespace medgate::testing
