// The SLA dashboard through a real medgate: the page and its files (no inline code, a strict
// CSP, uPlot served locally), the state it polls (live breakers, service levels from
// medgate's own counters when no Prometheus answers, monitors, drill reports), and the
// admin actions behind the admin token.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/integration/gateway_fixture.hpp"

namespace medgate::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
namespace json = boost::json;

class GatewayDashboard : public GatewayFixture {
 protected:
  void start() {
    std::filesystem::create_directories(dir_ + "/drills");
    std::ofstream(dir_ + "/drills/20261130T020000Z-app1-all-down.json")
        << R"({"scenario":"app1-all-down","variant":"","started":"2026-11-30T02:00:00.000Z",)"
        << R"("passed":false,"verdicts":[{"name":"time to detect","measured":420,"unit":"ms",)"
        << R"("op":"<=","target":3000,"outcome":"pass"}]})";
    dead_port_ = free_port();  // nothing listens there
    start_gateway("", "dashboard:\n  refresh: 200ms\n  prometheus_url: http://127.0.0.1:" +
                          std::to_string(dead_port_) +
                          "\n  monitors: [ { name: mariadb-monitor, url: \"http://127.0.0.1:" +
                          std::to_string(dead_port_) + "\" } ]\n  drills_dir: " + dir_ +
                          "/drills\n");
  }

  json::object state() {
    const auto r = get("/dashboard/api/state");
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).as_object();
  }

  uint16_t dead_port_ = 0;
};

TEST_F(GatewayDashboard, PageAndFilesAreLocalWithAStrictPolicy) {
  start();
  const auto page = get("/dashboard");
  ASSERT_EQ(page.status, 200);
  EXPECT_THAT(page.header("content-type"), HasSubstr("text/html"));
  const std::string csp = page.header("content-security-policy");
  EXPECT_THAT(csp, HasSubstr("script-src 'self'"));
  EXPECT_THAT(csp, Not(HasSubstr("unsafe-inline")));
  EXPECT_THAT(page.body, HasSubstr("<script src=\"/dashboard/static/uPlot.iife.min.js\">"));
  EXPECT_THAT(page.body, Not(HasSubstr("<script>")));  // no inline code
  EXPECT_THAT(page.body, Not(HasSubstr("http")));      // nothing from elsewhere
  const auto lib = get("/dashboard/static/uPlot.iife.min.js");
  EXPECT_EQ(lib.status, 200);
  EXPECT_THAT(lib.body, HasSubstr("uPlot"));
  EXPECT_THAT(lib.header("content-type"), HasSubstr("javascript"));
  EXPECT_EQ(get("/dashboard/static/dashboard.css").status, 200);
  EXPECT_EQ(get("/dashboard/static/../gateway.yaml").status, 404);
  EXPECT_EQ(get("/dashboard/static/nope.js").status, 404);
  EXPECT_EQ(post("/dashboard/api/state", "").status, 405);
}

TEST_F(GatewayDashboard, StateShowsBreakersOwnCountersMonitorsAndDrills) {
  start();
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(get("/api/medical/ok").status, 200);
  fault(primary_port_, "status:503");
  fault(replica_port_, "status:503");
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(get("/api/medical/ok").status, 503);
  // The collector gathers every 200 ms: wait until it has counted the ten requests.
  json::object s;
  const auto until = std::chrono::steady_clock::now() + 10s;
  double counted = 0;
  while (std::chrono::steady_clock::now() < until) {
    s = state();
    const auto& sl = s.at("collected").as_object().if_contains("service_levels");
    if (sl) {
      const auto& w = sl->at("windows").as_array()[0].as_object();
      counted = w.at("requests").to_number<double>();
      if (counted >= 10)
        break;
    }
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(counted, 10);
  const auto& sl = s.at("collected").at("service_levels").as_object();
  // Prometheus does not answer: the dashboard says so and uses medgate's own counters.
  EXPECT_EQ(sl.at("source").as_string(), "medgate");
  EXPECT_THAT(std::string(sl.at("note").as_string()), HasSubstr("does not answer"));
  const auto& five = sl.at("windows").as_array()[0].as_object();
  EXPECT_DOUBLE_EQ(five.at("availability").as_double(), 0.8);
  EXPECT_TRUE(five.at("p99_ms").is_number());
  EXPECT_TRUE(sl.at("burn_rate").at("5m").is_number());
  // Live breakers, straight from /health.
  const auto& medical = s.at("health").at("upstreams").at("medical").as_object();
  EXPECT_TRUE(medical.contains("state"));
  EXPECT_EQ(medical.at("endpoints").as_array().size(), 2u);
  // A monitor that does not answer is shown as such; the drill report is listed.
  const auto& dbs = s.at("collected").at("databases").as_array();
  ASSERT_EQ(dbs.size(), 1u);
  EXPECT_FALSE(dbs[0].at("reachable").as_bool());
  const auto& drills = s.at("collected").at("drills").as_array();
  ASSERT_EQ(drills.size(), 1u);
  EXPECT_EQ(drills[0].at("scenario").as_string(), "app1-all-down");
  EXPECT_FALSE(drills[0].at("passed").as_bool());
  // No patient data: the state holds no RUT-shaped text and no request path beyond routes.
  EXPECT_THAT(json::serialize(s), Not(HasSubstr("11111111")));
}

TEST_F(GatewayDashboard, AdminActionsNeedTheAdminToken) {
  start();
  const std::string path = "/admin/breakers/medical/force-open";
  EXPECT_EQ(post(path, "").status, 401);
  EXPECT_EQ(post(path, "", {{"Authorization", "Bearer wrong"}}).status, 401);
  const auto ok = post(path, "", {{"Authorization", std::string("Bearer ") + kToken}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(state().at("health").at("upstreams").at("medical").at("state").as_string(),
            "forced_open");
  EXPECT_EQ(post("/admin/breakers/medical/reset", "",
                 {{"Authorization", std::string("Bearer ") + kToken}})
                .status,
            200);
  EXPECT_EQ(state().at("health").at("upstreams").at("medical").at("state").as_string(), "closed");
}

// Nobody looking: the collector asks the monitors nothing; a reader brings it back at once.
// And a "monitor" that answers something else than the monitor API is shown as such.
TEST_F(GatewayDashboard, IdleItAsksTheMonitorsNothing) {
  // The replica test upstream stands in for a monitor (it counts what it is asked).
  start_gateway("", "dashboard:\n  refresh: 200ms\n  monitors: [ { name: m, url: \"" +
                        upstream_url(replica_port_) + "\" } ]\n");
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (upstream_requests(replica_port_) == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  const long first = upstream_requests(replica_port_);
  ASSERT_GT(first, 0);              // the first round, before anyone looked
  std::this_thread::sleep_for(1s);  // five rounds, unwatched
  EXPECT_EQ(upstream_requests(replica_port_), first);
  EXPECT_EQ(get("/dashboard/api/state").status, 200);
  const auto again = std::chrono::steady_clock::now() + 5s;
  while (upstream_requests(replica_port_) == first && std::chrono::steady_clock::now() < again)
    std::this_thread::sleep_for(20ms);
  EXPECT_GT(upstream_requests(replica_port_), first);  // asked again once someone looked
  // What it answered is no monitor's API: shown as such, and medgate lives on.
  const auto db = json::parse(get("/dashboard/api/state").body).at("collected").at("databases");
  EXPECT_FALSE(db.at(0).at("reachable").as_bool());
  EXPECT_THAT(std::string(db.at(0).at("error").as_string()), HasSubstr("not a monitor's answer"));
  EXPECT_EQ(get("/health/liveness").status, 200);
}

// The collector is apart from request serving: a monitor that takes connections and never
// answers holds the collector's thread, never a request (proxied, probe or the state).
TEST_F(GatewayDashboard, AHungMonitorHoldsUpNoRequest) {
  boost::asio::io_context io;
  // Listens and never accepts: the kernel completes each connection, nobody answers.
  boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  start_gateway("",
                "dashboard:\n  refresh: 200ms\n  monitors: [ { name: m, url: "
                "\"http://127.0.0.1:" +
                    std::to_string(silent.local_endpoint().port()) + "\" } ]\n");
  EXPECT_EQ(get("/dashboard/api/state").status, 200);  // someone looks: the monitor is asked
  for (int i = 0; i < 20; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(get("/api/medical/ok").status, 200);
    EXPECT_EQ(get("/dashboard/api/state").status, 200);
    EXPECT_EQ(get("/health/readiness").status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s) << "round " << i;
    std::this_thread::sleep_for(100ms);  // the collector keeps asking meanwhile
  }
}

TEST_F(GatewayDashboard, OffMeansNotFound) {
  start_gateway("", "dashboard: { enabled: false }\n");
  EXPECT_EQ(get("/dashboard").status, 404);
  EXPECT_EQ(get("/dashboard/api/state").status, 404);
}

}  // namespace
}  // namespace medgate::testing
