// medgate's operator surfaces against a real process: the Host allow-list (DNS rebinding)
// on every path, and the operator listener that takes /status, /metrics, the detailed
// /health, the dashboard, /admin and /docs off the public listener.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/gateway_fixture.hpp"

namespace medgate::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Every path the gateway answers itself, and one routed to an upstream.
const std::vector<std::string> kOperatorPaths = {
    "/status",         "/health", "/metrics",     "/dashboard", "/dashboard/api/state",
    "/admin/breakers", "/docs",   "/openapi.json"};
const std::vector<std::string> kPublicPaths = {"/health/liveness", "/health/readiness",
                                               "/api/medical/ok"};

class GatewayOperatorSurfaces : public GatewayFixture {
 protected:
  clients::CurlResponse get_with_host(uint16_t port, const std::string& path,
                                      const std::string& host) {
    return clients::curl_perform(
        {.url = "http://127.0.0.1:" + std::to_string(port) + path, .headers = {{"Host", host}}});
  }
};

// A web page whose name was rebound to 127.0.0.1 sends its own name as Host: it gets 421 on
// every path, operator or API, before anything is decided or forwarded.
TEST_F(GatewayOperatorSurfaces, AForeignHostIsRefusedOnEveryPath) {
  listen_extra_ = ", allowed_hosts: [ medgate.hospital.example ]";
  start_gateway();
  const std::string port = std::to_string(gateway_port_);
  std::vector<std::string> paths = kOperatorPaths;
  paths.insert(paths.end(), kPublicPaths.begin(), kPublicPaths.end());
  for (const auto& path : paths) {
    for (const std::string& host :
         std::vector<std::string>{"attacker.example", "attacker.example:" + port,
                                  "127.0.0.1.attacker.example", "localhost.evil", "x:y"}) {
      const auto r = get_with_host(gateway_port_, path, host);
      EXPECT_EQ(r.status, 421) << path << " Host: " << host;
      EXPECT_THAT(r.body, Not(HasSubstr("upstreams"))) << path;
    }
    for (const std::string& host : std::vector<std::string>{
             "127.0.0.1:" + port, "localhost:" + port, "LOCALHOST", "[::1]:" + port,
             "medgate.hospital.example", "Medgate.Hospital.Example.:" + port}) {
      EXPECT_NE(get_with_host(gateway_port_, path, host).status, 421) << path << " " << host;
    }
  }
  EXPECT_EQ(upstream_requests(primary_port_) + upstream_requests(replica_port_), 6)
      << "only the allowed /api/medical/ok calls reached an upstream";
}

TEST_F(GatewayOperatorSurfaces, TheOperatorListenerHoldsTheOperatorEndpointsAndNoApi) {
  const uint16_t op_port = free_port();
  start_gateway("",
                "operator_listen: { address: 127.0.0.1, port: " + std::to_string(op_port) + " }\n");
  ASSERT_TRUE(wait_for_http("http://127.0.0.1:" + std::to_string(op_port) + "/health/liveness",
                            std::chrono::seconds(5)))
      << gateway_->log();
  const std::string host = "127.0.0.1:" + std::to_string(gateway_port_);
  const std::string op_host = "127.0.0.1:" + std::to_string(op_port);
  // Public: the API and the probes; /health is a bare verdict; the rest is elsewhere.
  for (const auto& path : kOperatorPaths) {
    const auto r = get_with_host(gateway_port_, path, host);
    if (path == "/health") {
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.body, R"({"status":"ok"})");
    } else {
      EXPECT_EQ(r.status, 404) << path;
      EXPECT_THAT(r.body, HasSubstr("operator listener only")) << path;
    }
  }
  for (const auto& path : kPublicPaths)
    EXPECT_EQ(get_with_host(gateway_port_, path, host).status, 200) << path;
  // Operator: everything the gateway answers itself, in full; no API.
  const auto health = get_with_host(op_port, "/health", op_host);
  EXPECT_EQ(health.status, 200);
  EXPECT_THAT(health.body, HasSubstr("\"upstreams\""));
  EXPECT_EQ(get_with_host(op_port, "/status", op_host).status, 200);
  EXPECT_THAT(get_with_host(op_port, "/metrics", op_host).body,
              HasSubstr("medgate_requests_total"));
  EXPECT_EQ(get_with_host(op_port, "/docs", op_host).status, 200);
  const auto api = get_with_host(op_port, "/api/medical/ok", op_host);
  EXPECT_EQ(api.status, 404);
  EXPECT_THAT(api.body, HasSubstr("serves no API"));
  // The Host rule holds there too.
  EXPECT_EQ(get_with_host(op_port, "/status", "attacker.example").status, 421);
  EXPECT_EQ(upstream_requests(primary_port_) + upstream_requests(replica_port_), 1);
}

}  // namespace
}  // namespace medgate::testing
