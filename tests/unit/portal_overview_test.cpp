// How the portal reads medgate's one call for its page (GET /api/patient-overview/{rut}).
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "apps/patient-portal/gateway_client.hpp"

namespace medgate::service {
namespace {

using Kind = GatewayAnswer::Kind;

GatewayAnswer whole(std::string_view body) {
  GatewayAnswer a;
  a.kind = Kind::ok;
  a.body = boost::json::parse(body);
  return a;
}

TEST(PortalOverview, EachSectionIsReadAsItsOwnRouteWouldBe) {
  const auto parts = split_overview(whole(R"({"rut":"11111111-1","degraded":true,"sections":{
    "patient":{"status":404,"body":{"error":"not_found"}},
    "medical_history":{"status":200,"body":{"count":0,"consultations":[],"stale":true,
                                            "stale_age_seconds":42}},
    "payments":{"status":503,"body":{"error":"upstream_unavailable","upstream":"administrative",
                                     "reason":"breaker open","retry_after_seconds":7}},
    "doctors":{"status":200,"body":{"doctors":[]}}}})"));
  EXPECT_EQ(parts.patient.kind, Kind::not_found);
  EXPECT_EQ(parts.history.kind, Kind::stale);
  EXPECT_EQ(parts.history.stale_age_seconds, 42);
  EXPECT_EQ(parts.payments.kind, Kind::unavailable);
  EXPECT_EQ(parts.payments.upstream, "administrative");
  EXPECT_EQ(parts.payments.reason, "breaker open");
  EXPECT_EQ(parts.payments.retry_after_seconds, 7);
  EXPECT_EQ(parts.doctors.kind, Kind::ok);
  EXPECT_TRUE(parts.doctors.body.as_object().contains("doctors"));
}

TEST(PortalOverview, AFailedCallLeavesEverySectionUnavailableWithItsReason) {
  GatewayAnswer failed;
  failed.reason = "the gateway did not answer";
  const auto parts = split_overview(failed);
  for (const auto* p : {&parts.patient, &parts.history, &parts.payments, &parts.doctors}) {
    EXPECT_EQ(p->kind, Kind::unavailable);
    EXPECT_EQ(p->reason, "the gateway did not answer");
  }
}

TEST(PortalOverview, AMissingOrMalformedSectionIsUnavailableNotInvented) {
  const auto parts = split_overview(whole(R"({"sections":{
    "patient":{"status":200,"body":{"name":"Ana"}},
    "medical_history":{"status":"200","body":{}},
    "payments":{"body":{}}}})"));
  EXPECT_EQ(parts.patient.kind, Kind::ok);
  for (const auto* p : {&parts.history, &parts.payments, &parts.doctors}) {
    EXPECT_EQ(p->kind, Kind::unavailable);
    EXPECT_FALSE(p->reason.empty());
  }
  // An answer without sections at all (an older medgate, a proxy's page) is not data.
  const auto none = split_overview(whole(R"({"name":"Ana"})"));
  EXPECT_EQ(none.patient.kind, Kind::unavailable);
}

}  // namespace
}  // namespace medgate::service
