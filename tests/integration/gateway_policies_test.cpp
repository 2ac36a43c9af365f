// Gateway policies against real upstream processes with real faults.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "tests/integration/gateway_fixture.hpp"

namespace medgate::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

using GatewayPolicies = GatewayFixture;

TEST_F(GatewayPolicies, ProxiesToPrimaryAndTagsTheRequest) {
  start_gateway();
  auto r = get("/api/medical/ok");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-upstream-name"), "primary");
  EXPECT_EQ(r.header("x-medgate-upstream"), "medical");
  EXPECT_EQ(r.header("x-medgate-attempts"), "1");
  EXPECT_EQ(r.header("x-request-id").size(), 32u);
  // A client's request id is kept and returned.
  auto r2 = get("/api/medical/ok", {{"X-Request-Id", "portal-abc-123"}});
  EXPECT_EQ(r2.header("x-request-id"), "portal-abc-123");
  // ... and appears in the JSON access log.
  std::this_thread::sleep_for(200ms);
  std::ifstream log(dir_ + "/access.log");
  std::string all((std::istreambuf_iterator<char>(log)), {});
  EXPECT_THAT(all, HasSubstr("\"request_id\":\"portal-abc-123\""));
  EXPECT_THAT(all, HasSubstr("\"upstream\":\"medical\""));
}

TEST_F(GatewayPolicies, UpstreamSeesItsOwnHostAndTheRequestIdWhichTheGatewayOwnsOnTheWayBack) {
  start_gateway();
  const std::string raw = raw_exchange(gateway_port_,
                                       "GET /api/medical/headers?x=1 HTTP/1.1\r\n"
                                       "Host: localhost:9\r\n"
                                       "X-Request-Id: portal-req-7\r\n"
                                       "Connection: close\r\n\r\n");
  const auto [head, body] = split_answer(raw);
  ASSERT_FALSE(head.empty()) << raw;
  EXPECT_EQ(json_get_raw(body, "host"), "127.0.0.1:" + std::to_string(primary_port_));
  EXPECT_EQ(json_get_raw(body, "request_id"), "portal-req-7");
  EXPECT_EQ(json_get_raw(body, "target"), "/headers?x=1");
  // The upstream's own X-Request-Id and X-Medgate-Attempts are replaced, not repeated.
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t at = head.find(needle); at != std::string::npos; at = head.find(needle, at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(count("X-Request-Id:"), 1u) << head;
  EXPECT_EQ(count("X-Medgate-Attempts:"), 1u) << head;
  EXPECT_NE(head.find("X-Request-Id: portal-req-7\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Medgate-Attempts: 1\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("set-by-upstream"), std::string::npos) << head;
}

TEST_F(GatewayPolicies, HopByHopFieldsStayOnTheirHopBothWays) {
  start_gateway();
  std::string raw = raw_exchange(gateway_port_,
                                 "POST /api/medical/headers HTTP/1.1\r\n"
                                 "Host: localhost:9\r\n"
                                 "Connection: close, X-Client-Hop\r\n"
                                 "X-Client-Hop: secret\r\n"
                                 "TE: trailers\r\n"
                                 "Expect: 100-continue\r\n"
                                 "X-End-To-End: kept\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n"
                                 "2\r\nhi\r\n0\r\n\r\n");
  // The gateway answers the Expect itself, then the final answer follows.
  constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  ASSERT_TRUE(raw.starts_with(kContinue)) << raw;
  raw.erase(0, kContinue.size());
  const auto [head, body] = split_answer(raw);
  ASSERT_FALSE(head.empty()) << raw;
  EXPECT_EQ(json_get_raw(body, "end_to_end"), "kept") << body;
  EXPECT_EQ(json_get_raw(body, "client_hop"), "") << body;
  EXPECT_EQ(json_get_raw(body, "te"), "") << body;
  EXPECT_EQ(json_get_raw(body, "expect"), "") << body;
  // The upstream's connection management is not the client's; the client's wish is kept.
  EXPECT_EQ(head.find("X-Upstream-Hop"), std::string::npos) << head;
  EXPECT_EQ(head.find("Keep-Alive"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nConnection: close\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n"),
            std::string::npos)
      << head;
}

TEST_F(GatewayPolicies, HeadGetsTheHeaderOfTheGetAnswerAndTheConnectionGoesOn) {
  start_gateway();
  const auto get_answer = get("/api/medical/ok");
  ASSERT_EQ(get_answer.status, 200);
  // Two requests on one connection: a body sent after the HEAD answer would be read as
  // the start of the second response.
  const std::string raw = raw_exchange(gateway_port_,
                                       "HEAD /api/medical/ok HTTP/1.1\r\nHost: localhost\r\n\r\n"
                                       "GET /api/medical/ok HTTP/1.1\r\nHost: localhost\r\n"
                                       "Connection: close\r\n\r\n");
  const auto [head, rest] = split_answer(raw);
  ASSERT_FALSE(head.empty()) << raw;
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
  EXPECT_NE(head.find("Content-Length: " + std::to_string(get_answer.body.size()) + "\r\n"),
            std::string::npos)
      << head;
  EXPECT_TRUE(rest.starts_with("HTTP/1.1 200 OK\r\n")) << rest;
  EXPECT_TRUE(rest.ends_with(get_answer.body)) << rest;
}

TEST_F(GatewayPolicies, AClientThatExpectsContinueIsToldToGoOn) {
  start_gateway();
  const std::string raw = raw_exchange(gateway_port_,
                                       "POST /api/medical/echo HTTP/1.1\r\nHost: localhost\r\n"
                                       "Expect: 100-continue\r\nContent-Length: 3\r\n"
                                       "Connection: close\r\n\r\nabc");
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")) << raw;
  EXPECT_NE(raw.find("\"body_bytes\":3"), std::string::npos) << raw;
}

TEST_F(GatewayPolicies, AnHttp10ClientGetsAnHttp10Answer) {
  start_gateway();
  const std::string raw =
      raw_exchange(gateway_port_, "GET /api/medical/ok HTTP/1.0\r\nHost: localhost\r\n\r\n");
  EXPECT_TRUE(raw.starts_with("HTTP/1.0 200 OK\r\n")) << raw;
  EXPECT_EQ(raw.find("Connection:"), std::string::npos) << raw;  // closing is 1.0's default
  EXPECT_NE(raw.find("\"ok\":true"), std::string::npos) << raw;
}

TEST_F(GatewayPolicies, KilledPrimaryFailsOverOnTheFirstRequest) {
  start_gateway();
  ASSERT_EQ(get("/api/medical/ok").header("x-upstream-name"), "primary");
  primary_->kill();
  const auto t0 = std::chrono::steady_clock::now();
  auto r = get("/api/medical/ok");
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-upstream-name"), "replica");
  EXPECT_EQ(r.header("x-medgate-attempts"), "2");
  EXPECT_LT(took, 500ms) << "failover must not wait for a back-off";
}

TEST_F(GatewayPolicies, RetriesA503ThenSucceeds) {
  start_gateway(
      "    selection: ordered\n"
      "    retry: { attempts: 3, backoff: 10ms, budget_min: 100 }\n"
      "    breaker: { consecutive_failures: 0, failure_rate: 0 }\n");
  replica_->kill();  // the failover target is dead too: the third attempt goes back
  fault(primary_port_, "status:503", 1);
  auto r = get("/api/medical/ok");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-upstream-name"), "primary");
  EXPECT_EQ(r.header("x-medgate-attempts"), "3");
}

TEST_F(GatewayPolicies, NonIdempotentPostIsNotRetriedUnlessKeyed) {
  start_gateway();
  fault(primary_port_, "status:503", 1);
  auto r = post("/api/medical/consultations", "{}");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("x-medgate-attempts"), "1");
  fault(primary_port_, "status:503", 1);
  auto keyed = post("/api/medical/consultations", "{}", {{"Idempotency-Key", "k-1"}});
  EXPECT_EQ(keyed.status, 200);
  EXPECT_EQ(keyed.header("x-medgate-attempts"), "2");
}

TEST_F(GatewayPolicies, PostIsRetriedWhenItNeverLeft) {
  start_gateway();
  primary_->kill();  // connect refused: the request provably never reached it
  auto r = post("/api/medical/consultations", "{}");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-upstream-name"), "replica");
}

TEST_F(GatewayPolicies, HungUpstreamTimesOutPerTryAndFailsOver) {
  start_gateway();
  fault(primary_port_, "hang");
  const auto t0 = std::chrono::steady_clock::now();
  auto r = get("/api/medical/ok");
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-upstream-name"), "replica");
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 1500ms);
}

TEST_F(GatewayPolicies, AllHungGivesGatewayTimeoutWithinTheRouteTimeout) {
  start_gateway();
  fault(primary_port_, "hang");
  fault(replica_port_, "hang");
  const auto t0 = std::chrono::steady_clock::now();
  auto r = get("/api/medical/ok");
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(json_get_raw(r.body, "upstream"), "medical");
  EXPECT_LT(took, 2500ms);
}

TEST_F(GatewayPolicies, ResetMidResponseIsRetriedElsewhere) {
  start_gateway();
  fault(primary_port_, "reset");
  auto r = get("/api/medical/ok");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-upstream-name"), "replica");
  fault(replica_port_, "reset");
  auto bad = get("/api/medical/ok");
  EXPECT_EQ(bad.status, 502);
}

TEST_F(GatewayPolicies, BreakerOpensThenAnswersFastWithoutUpstreamTrafficThenRecovers) {
  start_gateway(
      "    selection: ordered\n"
      "    retry: { attempts: 1 }\n"
      "    breaker: { consecutive_failures: 5, failure_rate: 0, open_for: 700ms, "
      "half_open_calls: 2 }\n"
      "    endpoint_breaker: { consecutive_failures: 1000, failure_rate: 0 }\n"
      "    outlier: { consecutive_failures: 0 }\n");
  fault(primary_port_, "status:500");
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(get("/api/medical/ok").status, 500);
  const long before = upstream_requests(primary_port_) + upstream_requests(replica_port_);
  auto open = get("/api/medical/ok");
  EXPECT_EQ(open.status, 503);
  EXPECT_EQ(json_get_raw(open.body, "breaker"), "open");
  EXPECT_EQ(json_get_raw(open.body, "reason"), "circuit breaker open");
  EXPECT_FALSE(open.header("retry-after").empty());
  EXPECT_LT(open.elapsed, 100ms);
  EXPECT_EQ(upstream_requests(primary_port_) + upstream_requests(replica_port_), before)
      << "an open breaker must not send traffic";
  auto health = get("/health");
  EXPECT_EQ(health.status, 503);  // the only upstream is down
  EXPECT_THAT(health.body, HasSubstr("\"reason\":\"5 consecutive failures\""));
  EXPECT_EQ(json_get_raw(health.body, "status"), "down");

  // Upstream recovers; after open_for, probes close the breaker.
  fault(primary_port_, "none");
  std::this_thread::sleep_for(750ms);
  EXPECT_EQ(get("/api/medical/ok").status, 200);
  EXPECT_EQ(get("/api/medical/ok").status, 200);
  health = get("/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_THAT(health.body, HasSubstr("\"reason\":\"2 half-open probes succeeded\""));
}

TEST_F(GatewayPolicies, RetryBudgetCapsAmplification) {
  start_gateway(
      "    selection: ordered\n"
      "    retry: { attempts: 3, backoff: 1ms, budget: 0.0, budget_min: 2 }\n"
      "    breaker: { consecutive_failures: 0, failure_rate: 0 }\n"
      "    outlier: { consecutive_failures: 0 }\n"
      "    endpoint_breaker: { consecutive_failures: 0, failure_rate: 0 }\n");
  fault(primary_port_, "status:503");
  fault(replica_port_, "status:503");
  for (int i = 0; i < 5; ++i)
    (void)get("/api/medical/ok");
  // 5 requests + at most 2 retries in the budget window; the 4 later requests were refused
  // their retry.
  EXPECT_EQ(upstream_requests(primary_port_) + upstream_requests(replica_port_), 7);
  const std::string metrics = get("/metrics").body;
  EXPECT_NE(metrics.find("medgate_upstream_rejected_total{reason=\"budget_exhausted\","
                         "upstream=\"medical\"} 4"),
            std::string::npos);
}

TEST_F(GatewayPolicies, OutlierEjectionSkipsTheBadEndpoint) {
  start_gateway(
      "    selection: round_robin\n"
      "    retry: { attempts: 2, budget_min: 1000 }\n"
      "    breaker: { consecutive_failures: 0, failure_rate: 0 }\n"
      "    endpoint_breaker: { consecutive_failures: 0, failure_rate: 0 }\n"
      "    outlier: { consecutive_failures: 2, base_ejection: 30s }\n");
  fault(primary_port_, "status:503");
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(get("/api/medical/ok").status, 200);
  const long primary_before = upstream_requests(primary_port_);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(get("/api/medical/ok").header("x-upstream-name"), "replica");
  EXPECT_EQ(upstream_requests(primary_port_), primary_before);
  auto health = get("/health");
  EXPECT_THAT(health.body, HasSubstr("\"reason\":\"ejected\""));
  EXPECT_EQ(json_get_raw(health.body, "status"), "degraded");
}

TEST_F(GatewayPolicies, ActiveHealthCheckTakesEndpointOutAndBack) {
  start_gateway(
      "    selection: ordered\n"
      "    health_check: { path: /health, interval: 100ms, timeout: 100ms, "
      "healthy_threshold: 2, unhealthy_threshold: 2 }\n"
      "    slow_start: 0s\n");
  fault(primary_port_, "status:500");
  std::this_thread::sleep_for(400ms);
  fault(primary_port_, "none");
  // Health checks were failing: traffic went to the replica meanwhile.
  EXPECT_THAT(get("/health").body, HasSubstr("\"health_check\":\"failing\""));
  EXPECT_EQ(get("/api/medical/ok").header("x-upstream-name"), "replica");
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(get("/api/medical/ok").header("x-upstream-name"), "primary");
}

TEST_F(GatewayPolicies, AdminNeedsTheTokenAndControlsTheBreaker) {
  start_gateway();
  EXPECT_EQ(post("/admin/breakers/medical/force-open", "").status, 401);
  EXPECT_EQ(
      post("/admin/breakers/medical/force-open", "", {{"Authorization", "Bearer wrong"}}).status,
      401);
  const std::pair<std::string, std::string> auth = {"Authorization",
                                                    std::string("Bearer ") + kToken};
  auto r = post("/admin/breakers/medical/force-open", "", {auth});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json_get_raw(r.body, "state"), "forced_open");
  EXPECT_EQ(get("/api/medical/ok").status, 503);
  EXPECT_EQ(post("/admin/breakers/medical/reset", "", {auth}).status, 200);
  EXPECT_EQ(get("/api/medical/ok").status, 200);
  EXPECT_EQ(post("/admin/breakers/medical/endpoints/0/force-open", "", {auth}).status, 200);
  EXPECT_EQ(get("/api/medical/ok").header("x-upstream-name"), "replica");
  EXPECT_EQ(post("/admin/breakers/medical/explode", "", {auth}).status, 400);
  EXPECT_EQ(post("/admin/breakers/nope/reset", "", {auth}).status, 404);
  EXPECT_EQ(post("/admin/breakers/medical/endpoints/0x/reset", "", {auth}).status, 404)
      << "an endpoint index is all digits";
}

TEST_F(GatewayPolicies, StaleCopyIsServedAndMarkedWhenUnavailable) {
  start_gateway(
      "    selection: ordered\n"
      "    retry: { attempts: 1 }\n"
      "    stale: { max_age: 1m }\n");
  ASSERT_EQ(get("/api/medical/ok").status, 200);
  primary_->kill();
  replica_->kill();
  auto r = get("/api/medical/ok");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-medgate-stale"), "true");
  EXPECT_FALSE(r.header("age").empty());
  EXPECT_THAT(r.body, HasSubstr("\"ok\":true"));
  // Nothing was ever cached for this path: an explicit 503, never invented data.
  EXPECT_EQ(get("/api/medical/other").status, 503);
}

TEST_F(GatewayPolicies, MetricsExposeRequestsAttemptsAndBreakers) {
  start_gateway();
  primary_->kill();
  (void)get("/api/medical/ok");
  auto m = get("/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_THAT(m.body, HasSubstr("medgate_requests_total{code=\"2xx\",route=\"/api/medical/\"} 1"));
  EXPECT_THAT(m.body, HasSubstr("outcome=\"connect_failed\""));
  EXPECT_THAT(m.body, HasSubstr("medgate_upstream_retries_total{upstream=\"medical\"} 1"));
  EXPECT_THAT(m.body, HasSubstr("medgate_upstream_amplification_ratio{upstream=\"medical\"} 2"));
  EXPECT_THAT(m.body, HasSubstr("medgate_breaker_state{endpoint=\"\",state=\"closed\","
                                "upstream=\"medical\"} 1"));
  EXPECT_THAT(m.body, HasSubstr("medgate_request_duration_seconds_bucket"));
  // promtool (Debian's prometheus, which scripts/test installs) lints the exposition; a
  // machine without it fails here rather than skipping the check.
  ASSERT_EQ(std::system("command -v promtool >/dev/null 2>&1"), 0)
      << "promtool is missing: install Debian's prometheus (scripts/test does)";
  std::ofstream(dir_ + "/metrics.txt") << m.body;
  const std::string cmd =
      "promtool check metrics < " + dir_ + "/metrics.txt > " + dir_ + "/promtool.out 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << std::ifstream(dir_ + "/promtool.out").rdbuf();
}

TEST_F(GatewayPolicies, BuiltInEndpointsAnswer) {
  start_gateway();
  EXPECT_EQ(get("/health/liveness").status, 200);
  EXPECT_EQ(get("/health/readiness").status, 200);
  EXPECT_EQ(get("/health/startup").status, 200);
  auto s = get("/status");
  EXPECT_EQ(s.status, 200);
  EXPECT_THAT(s.body, HasSubstr("\"uptime_seconds\""));
  EXPECT_EQ(get("/nowhere").status, 404);
}

TEST_F(GatewayPolicies, GracefulDrainFinishesInFlightRequests) {
  start_gateway();
  fault(primary_port_, "slow:600", 1);
  clients::CurlResponse slow;
  std::thread client([&] { slow = get("/api/medical/ok"); });
  std::this_thread::sleep_for(200ms);
  gateway_->signal(SIGTERM);
  client.join();
  EXPECT_EQ(slow.status, 200) << slow.error;
  EXPECT_EQ(gateway_->stop(0, 5s), 0) << "medgate must exit cleanly after draining";
}

// Breaker layers that agree, over HTTP: an upstream of one endpoint fails (500s), its
// half-open probes fail slowly (timeouts), then it recovers fully. Called every 50 ms from
// then on, once its breaker closes (one probe round) every call is served, and the wait is
// no longer than the upstream's own open period: the endpoint's breaker, open longer, does
// not re-open the upstream's.
class BreakerLayersOverHttp : public GatewayPolicies, public ::testing::WithParamInterface<int> {};

TEST_P(BreakerLayersOverHttp, ARecoveredUpstreamIsServedAfterOneProbeRound) {
  const int open_s = GetParam();
  single_endpoint_ = true;
  start_gateway(
      "    selection: ordered\n    timeout: 2s\n    per_try_timeout: 300ms\n"
      "    retry: { attempts: 1 }\n"
      "    breaker: { consecutive_failures: 0, failure_rate: 0.5, window: 10, "
      "min_calls: 10, open_for: " +
      std::to_string(open_s) +
      "s, half_open_calls: 3 }\n"
      "    endpoint_breaker: { consecutive_failures: 0, failure_rate: 0.5, window: 5, "
      "min_calls: 5, open_for: " +
      std::to_string(open_s * 5 / 2) +
      "s }\n"
      "    outlier: { consecutive_failures: 0 }\n");
  auto status = [&] { return get("/api/medical/ok").status; };
  fault(primary_port_, "status:500");
  for (int i = 0; i < 12; ++i)
    (void)status();
  const auto h = clients::curl_perform({.url = gw("/health")});
  ASSERT_THAT(h.body, HasSubstr("\"state\":\"open\"")) << h.body;
  // The probes fail slowly once the breaker lets them through.
  fault(primary_port_, "slow:600");
  const auto probing_until = std::chrono::steady_clock::now() + std::chrono::seconds(open_s + 3);
  bool probed = false;
  while (!probed && std::chrono::steady_clock::now() < probing_until) {
    probed = status() == 504;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(probed) << "a half-open probe reached the slow upstream";
  // Recovered.
  fault(primary_port_, "none");
  const auto recovered = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> first_ok;
  int refused_after_first_ok = 0;
  const auto until = recovered + std::chrono::seconds(open_s + 4);
  while (std::chrono::steady_clock::now() < until) {
    const long s = status();
    if (s == 200 && !first_ok)
      first_ok = std::chrono::steady_clock::now();
    else if (s != 200 && first_ok)
      ++refused_after_first_ok;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(first_ok) << "never served after recovering";
  EXPECT_EQ(refused_after_first_ok, 0) << "refusals after the first probe round";
  // The wait was the upstream's open period (and the slow probe), not two or three of them.
  EXPECT_LT(*first_ok - recovered, std::chrono::milliseconds(open_s * 1000 + 1500));
  // One breaker: the only endpoint's is disabled, and the admin API will not revive it.
  EXPECT_THAT(clients::curl_perform({.url = gw("/health")}).body,
              HasSubstr("\"breaker\":{\"state\":\"disabled\""));
  EXPECT_EQ(clients::curl_perform({.method = "POST",
                                   .url = gw("/admin/breakers/medical/endpoints/0/reset"),
                                   .headers = {{"Authorization", std::string("Bearer ") + kToken}}})
                .status,
            409);
}

INSTANTIATE_TEST_SUITE_P(OpenFor, BreakerLayersOverHttp, ::testing::Values(2, 10),
                         [](const auto& info) { return std::to_string(info.param) + "s"; });

// An operator's reset means what it says: with the upstream healthy again, the next call is
// served, whatever its endpoints' breakers had learnt (two endpoints, both opened by
// failures, the upstream's breaker forced open, then reset).
TEST_F(GatewayPolicies, ResetOfAnUpstreamLeavesNoLayerBelowRefusing) {
  start_gateway(
      "    selection: ordered\n    timeout: 2s\n    per_try_timeout: 300ms\n"
      "    retry: { attempts: 2, backoff: 10ms }\n"
      "    breaker: { consecutive_failures: 50, failure_rate: 0 }\n"
      "    endpoint_breaker: { consecutive_failures: 2, failure_rate: 0, open_for: 60s }\n"
      "    outlier: { consecutive_failures: 0 }\n");
  fault(primary_port_, "status:500");
  fault(replica_port_, "status:500");
  // Until both endpoints' breakers are open (bounded).
  for (int i = 0;
       i < 20 && clients::curl_perform({.url = gw("/health")}).body.find("\"routable\":true") !=
                     std::string::npos;
       ++i)
    (void)get("/api/medical/ok");
  auto admin = [&](const std::string& action) {
    return clients::curl_perform({.method = "POST",
                                  .url = gw("/admin/breakers/medical/" + action),
                                  .headers = {{"Authorization", std::string("Bearer ") + kToken}}})
        .status;
  };
  ASSERT_EQ(admin("force-open"), 200);
  fault(primary_port_, "none");
  fault(replica_port_, "none");
  const auto h = clients::curl_perform({.url = gw("/health")});
  ASSERT_THAT(h.body, Not(HasSubstr("\"routable\":true"))) << "the endpoints' breakers are open";
  ASSERT_EQ(admin("reset"), 200);
  EXPECT_EQ(get("/api/medical/ok").status, 200)
      << clients::curl_perform({.url = gw("/health")}).body;
}

}  // namespace
}  // namespace medgate::testing
