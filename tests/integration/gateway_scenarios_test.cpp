// Longer scenarios through a real medgate: a flapping endpoint, the slow-call breaker rule,
// and the portal API end to end against upstreams serving canned service JSON.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <thread>

#include "tests/integration/gateway_fixture.hpp"

namespace medgate::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

using GatewayScenarios = GatewayFixture;

// The value of one series in a Prometheus text exposition (-1 when absent).
double metric_value(const std::string& exposition, const std::string& series) {
  const size_t at = exposition.find("\n" + series + " ");
  if (at == std::string::npos)
    return -1;
  return std::stod(exposition.substr(at + series.size() + 2));
}

TEST_F(GatewayScenarios, FlappingPrimaryIsCutOffWhileBadAndTakenBackWhileGood) {
  start_gateway(
      "    selection: ordered\n"
      "    retry: { attempts: 2, backoff: 1ms, budget: 1.0, budget_min: 1000 }\n"
      "    breaker: { consecutive_failures: 0, failure_rate: 0 }\n"
      "    endpoint_breaker: { consecutive_failures: 2, failure_rate: 0, open_for: 300ms, "
      "half_open_calls: 1 }\n"
      "    outlier: { consecutive_failures: 0 }\n"
      // Ramp-in would share the first seconds with the replica; the point here is the cut.
      "    slow_start: 0s\n");
  int requests = 0;
  for (int cycle = 0; cycle < 3; ++cycle) {
    // Bad phase: every answer still 200 (the replica serves the retry), and the primary
    // sees only the two failures that open its breaker.
    fault(primary_port_, cycle % 2 == 0 ? "status:503" : "reset");
    const long primary_before = upstream_requests(primary_port_);
    for (int i = 0; i < 10; ++i, ++requests) {
      const auto r = get("/api/medical/ok");
      EXPECT_EQ(r.status, 200) << "cycle " << cycle << " request " << i;
      EXPECT_EQ(r.header("x-upstream-name"), "replica");
    }
    EXPECT_LE(upstream_requests(primary_port_) - primary_before, 2) << "cycle " << cycle;
    const std::string health = get("/health").body;
    EXPECT_THAT(health, HasSubstr("\"state\":\"open\"")) << "cycle " << cycle;

    // Good phase: after open_for, one half-open probe succeeds and the primary is back.
    fault(primary_port_, "none");
    std::this_thread::sleep_for(350ms);
    for (int i = 0; i < 5; ++i, ++requests) {
      const auto r = get("/api/medical/ok");
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.header("x-upstream-name"), "primary") << "cycle " << cycle << " request " << i;
      EXPECT_EQ(r.header("x-medgate-attempts"), "1");
    }
  }
  // Amplification stayed bounded: a retry only for the two requests per bad phase that met
  // the primary before its breaker opened.
  const std::string metrics = get("/metrics").body;
  EXPECT_EQ(metric_value(metrics, "medgate_upstream_requests_total{upstream=\"medical\"}"),
            requests);
  EXPECT_LE(metric_value(metrics, "medgate_upstream_retries_total{upstream=\"medical\"}"), 3 * 2);
  const std::string health = get("/health").body;
  EXPECT_THAT(health, HasSubstr("\"reason\":\"2 consecutive failures\""));
  EXPECT_THAT(health, HasSubstr("half-open probes succeeded"));
}

TEST_F(GatewayScenarios, ASingleEndpointUpstreamIsBackAsSoonAsItsHealthChecksPass) {
  // Breaker and ejection would each keep it out for 30 s; passing health checks end both.
  single_endpoint_ = true;
  start_gateway(
      "    timeout: 1s\n"
      "    per_try_timeout: 300ms\n"
      "    retry: { attempts: 1 }\n"
      "    breaker: { consecutive_failures: 3, failure_rate: 0, open_for: 30s }\n"
      "    endpoint_breaker: { consecutive_failures: 3, failure_rate: 0, open_for: 30s }\n"
      "    outlier: { consecutive_failures: 3, base_ejection: 30s, max_ejection_percent: 100 }\n"
      "    health_check: { path: /health, interval: 200ms, timeout: 100ms, "
      "healthy_threshold: 2, unhealthy_threshold: 2 }\n"
      "    slow_start: 0s\n");
  ASSERT_EQ(get("/api/medical/ok").status, 200);
  primary_->kill();
  for (int i = 0; i < 5; ++i)
    EXPECT_NE(get("/api/medical/ok").status, 200);
  const auto down = get("/health").body;
  EXPECT_THAT(down, HasSubstr("\"state\":\"open\""));
  const auto refused = get("/api/medical/ok");
  EXPECT_EQ(refused.status, 503);
  EXPECT_GE(std::stoi(refused.header("retry-after")), 1);
  EXPECT_LE(std::stoi(refused.header("retry-after")), 30);

  primary_ = start_upstream("primary", primary_port_);  // answers once this returns
  const auto back = std::chrono::steady_clock::now();
  int status = 0;
  while (std::chrono::steady_clock::now() - back < 10s) {
    status = get("/api/medical/ok").status;
    if (status == 200)
      break;
    std::this_thread::sleep_for(50ms);
  }
  const auto took = std::chrono::steady_clock::now() - back;
  ASSERT_EQ(status, 200) << get("/health").body;
  EXPECT_LT(took, 2 * 200ms + 1s) << "healthy_threshold x interval + 1 s";
}

TEST_F(GatewayScenarios, SlowCallRateOpensTheBreakerAndItRecoversWhenFastAgain) {
  start_gateway(
      "    selection: ordered\n"
      "    timeout: 2s\n"
      "    per_try_timeout: 1s\n"
      "    retry: { attempts: 1 }\n"
      "    breaker: { consecutive_failures: 0, failure_rate: 0, slow_call_rate: 0.5, "
      "slow_call_duration: 100ms, window: 4, min_calls: 4, open_for: 400ms, "
      "half_open_calls: 1 }\n"
      "    endpoint_breaker: { consecutive_failures: 0, failure_rate: 0 }\n"
      "    outlier: { consecutive_failures: 0 }\n");
  fault(primary_port_, "slow:150");
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(get("/api/medical/ok").status, 200);  // slow, but answered
  const long before = upstream_requests(primary_port_) + upstream_requests(replica_port_);
  const auto open = get("/api/medical/ok");
  EXPECT_EQ(open.status, 503);
  EXPECT_EQ(json_get_raw(open.body, "breaker"), "open");
  EXPECT_LT(open.elapsed, 100ms);
  EXPECT_EQ(upstream_requests(primary_port_) + upstream_requests(replica_port_), before)
      << "nothing goes upstream while open";
  const std::string health = get("/health").body;
  EXPECT_THAT(health, HasSubstr("slow-call rate 100.0% >= 50.0% over 4 calls"));

  fault(primary_port_, "none");
  std::this_thread::sleep_for(450ms);
  EXPECT_EQ(get("/api/medical/ok").status, 200);  // the probe, fast now
  EXPECT_EQ(get("/api/medical/ok").status, 200);
  EXPECT_THAT(get("/health").body, HasSubstr("\"state\":\"closed\""));
}

TEST_F(GatewayScenarios, OutlierEjectionNeverEmptiesTheUpstream) {
  start_gateway(
      "    selection: round_robin\n"
      "    retry: { attempts: 1 }\n"
      "    breaker: { consecutive_failures: 0, failure_rate: 0 }\n"
      "    endpoint_breaker: { consecutive_failures: 0, failure_rate: 0 }\n"
      "    outlier: { consecutive_failures: 2, base_ejection: 30s, max_ejection_percent: 10 }\n");
  fault(primary_port_, "status:503");
  fault(replica_port_, "status:503");
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(get("/api/medical/ok").status, 503);
  const std::string health = get("/health").body;
  size_t ejected = 0;
  for (size_t at = health.find("\"ejected\":true"); at != std::string::npos;
       at = health.find("\"ejected\":true", at + 1))
    ++ejected;
  EXPECT_EQ(ejected, 1u) << "two endpoints at 10 %: one may be ejected, never both";
  // Traffic still reaches the endpoint that was kept in.
  const long before = upstream_requests(primary_port_) + upstream_requests(replica_port_);
  (void)get("/api/medical/ok");
  EXPECT_EQ(upstream_requests(primary_port_) + upstream_requests(replica_port_), before + 1);
}

class PortalEndToEnd : public GatewayFixture {
 protected:
  // The medical service's and the administrative service's answers, as they document them.
  void start_services() {
    serve_service_docs();
    start_gateway(
        "    selection: ordered\n"
        "    retry: { attempts: 1 }\n"
        "  administrative:\n"
        "    endpoints: [ \"" +
        upstream_url(replica_port_) +
        "\" ]\n"
        "    retry: { attempts: 1 }\n");
  }
};

TEST_F(PortalEndToEnd, MedicalHistoryIsNormalized) {
  start_services();
  const auto r = get("/api/medical-history/11.111.111-1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("\"patient_rut\":\"11111111-1\""));
  EXPECT_THAT(r.body, HasSubstr("\"count\":1"));
  EXPECT_THAT(r.body, HasSubstr("\"diagnosis\":\"hypertension\""));
  EXPECT_EQ(r.header("x-medgate-upstream"), "medical");
}

TEST_F(PortalEndToEnd, DoctorsBySpecialty) {
  start_services();
  const auto r = get("/api/doctors?specialty=cardiology");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("\"specialty\":\"cardiology\""));
  EXPECT_THAT(r.body, HasSubstr("\"available\":true"));
}

TEST_F(PortalEndToEnd, PatientAndPaymentsWithPendingInvoicesAndDebt) {
  start_services();
  const auto p = get("/api/patient/11111111-1");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_THAT(p.body, HasSubstr("\"insurance\":\"FONASA\""));
  const auto pay = get("/api/payments/11111111-1");
  ASSERT_EQ(pay.status, 200) << pay.body;
  EXPECT_THAT(pay.body, HasSubstr("\"patient_rut\":\"11111111-1\""));
  EXPECT_THAT(pay.body, HasSubstr("\"concept\":\"consulta\""));
  EXPECT_THAT(pay.body, HasSubstr("\"total_debt\":20000"));
  EXPECT_THAT(pay.body, HasSubstr("\"id\":10"));
  EXPECT_THAT(pay.body, Not(HasSubstr("\"id\":11")));  // paid: not pending
}

TEST_F(PortalEndToEnd, UnknownPatientIs404AndMedicalDownIsAnExplicit503) {
  start_services();
  EXPECT_EQ(get("/api/patient/22222222-2").status, 404);
  primary_.reset();  // the medical service is gone
  const auto r = get("/api/medical-history/11111111-1");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json_get_raw(r.body, "error"), "upstream_unavailable");
  EXPECT_EQ(json_get_raw(r.body, "upstream"), "medical");
  EXPECT_FALSE(r.header("retry-after").empty());
  // The administrative side is unaffected.
  EXPECT_EQ(get("/api/patient/11111111-1").status, 200);
}

// The page's one call: each section is exactly what its own route answers.
TEST_F(PortalEndToEnd, TheOverviewHoldsEverySectionAsItsOwnRouteAnswersIt) {
  start_services();
  const auto r = get("/api/patient-overview/11.111.111-1");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto o = boost::json::parse(r.body).as_object();
  EXPECT_EQ(o.at("rut").as_string(), "11111111-1");
  EXPECT_FALSE(o.at("degraded").as_bool()) << r.body;
  const auto& sections = o.at("sections").as_object();
  for (const auto& [name, route] : std::vector<std::pair<std::string, std::string>>{
           {"patient", "/api/patient/11111111-1"},
           {"medical_history", "/api/medical-history/11111111-1"},
           {"payments", "/api/payments/11111111-1"},
           {"doctors", "/api/doctors"}}) {
    const auto own = get(route);
    ASSERT_EQ(own.status, 200) << route << ": " << own.body;
    EXPECT_EQ(sections.at(name).at("status").as_int64(), 200) << name;
    EXPECT_EQ(sections.at(name).at("body"), boost::json::parse(own.body)) << name;
  }
  EXPECT_EQ(get("/api/patient-overview/11111111-2").status, 400);
}

TEST_F(PortalEndToEnd, TheOverviewSaysWhichSectionIsMissingAndWhy) {
  start_services();
  const auto unknown = get("/api/patient-overview/22222222-2");
  ASSERT_EQ(unknown.status, 200) << unknown.body;
  const auto u = boost::json::parse(unknown.body).as_object();
  EXPECT_TRUE(u.at("degraded").as_bool());
  EXPECT_EQ(u.at("sections").at("patient").at("status").as_int64(), 404);
  primary_.reset();  // the medical service is gone
  const auto r = get("/api/patient-overview/11111111-1");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto o = boost::json::parse(r.body).as_object();
  EXPECT_TRUE(o.at("degraded").as_bool());
  const auto& sections = o.at("sections").as_object();
  for (const char* medical : {"medical_history", "doctors"}) {
    EXPECT_EQ(sections.at(medical).at("status").as_int64(), 503) << medical;
    EXPECT_EQ(sections.at(medical).at("body").at("error").as_string(), "upstream_unavailable");
    EXPECT_EQ(sections.at(medical).at("body").at("upstream").as_string(), "medical");
  }
  EXPECT_EQ(sections.at("patient").at("status").as_int64(), 200);
  EXPECT_EQ(sections.at("payments").at("status").as_int64(), 200);
}

}  // namespace
}  // namespace medgate::testing
