// Bounded inputs: oversized header/body, slow header, malformed requests, bad RUTs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/gateway_fixture.hpp"

namespace medgate::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

using GatewayLimits = GatewayFixture;

TEST_F(GatewayLimits, OversizedHeaderGets431) {
  start_gateway();
  auto r = get("/api/medical/ok", {{"X-Big", std::string(8000, 'a')}});
  EXPECT_EQ(r.status, 431);
  EXPECT_THAT(r.body, HasSubstr("header_too_large"));
}

TEST_F(GatewayLimits, TheConfiguredHeaderLimitIsTheOneThatHolds) {
  // Above the read buffer's old fixed 8 KiB: the limit decides, to the byte.
  limits_ = "{ max_header_bytes: 16384, header_timeout: 2s }";
  start_gateway();
  EXPECT_EQ(get("/health/liveness", {{"X-Big", std::string(12 * 1024, 'a')}}).status, 200);
  const auto refused = get("/health/liveness", {{"X-Big", std::string(20 * 1024, 'a')}});
  EXPECT_EQ(refused.status, 431);
  EXPECT_THAT(refused.body, HasSubstr("header_too_large"));
}

TEST_F(GatewayLimits, OversizedBodyGets413) {
  start_gateway();
  auto r = post("/api/medical/consultations", std::string(100'000, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(upstream_requests(primary_port_), 0);
}

TEST_F(GatewayLimits, SlowHeaderIsClosed) {
  start_gateway();
  const auto t0 = std::chrono::steady_clock::now();
  // Half a request line and then nothing: the 1 s header timeout closes the connection.
  const std::string got = raw_exchange(gateway_port_, "GET /api/medical/ok HT", 5000);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(got, "");
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 3s);
}

TEST_F(GatewayLimits, GarbageGets400AndGatewayKeepsServing) {
  start_gateway();
  const std::string got = raw_exchange(gateway_port_, "\x01\x02 nonsense\r\n\r\n");
  EXPECT_THAT(got, HasSubstr("400 Bad Request"));
  EXPECT_EQ(get("/api/medical/ok").status, 200);
}

TEST_F(GatewayLimits, MalformedRutIs400BeforeAnyUpstreamCall) {
  start_gateway();
  for (const char* bad : {"11111111-2", "abc", "11111111", "0-0", "111111111111-1"}) {
    auto r = get(std::string("/api/medical-history/") + bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(json_get_raw(r.body, "field"), "rut") << bad;
  }
  EXPECT_EQ(upstream_requests(primary_port_) + upstream_requests(replica_port_), 0);
}

}  // namespace
}  // namespace medgate::testing
