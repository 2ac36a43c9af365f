// Pure parts of the gateway: RUT validation, portal transforms, configuration schema.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "clients/host_name.hpp"
#include "domain/rut.hpp"
#include "gateway/cors.hpp"
#include "gateway/fd_limit.hpp"
#include "gateway/gateway_config.hpp"
#include "gateway/host_allow_list.hpp"
#include "gateway/http_util.hpp"
#include "gateway/portal/portal_transform.hpp"

namespace medgate::gateway {
using domain::normalize_rut;
using domain::rut_check_digit;
namespace {

using ::testing::HasSubstr;

TEST(Rut, AcceptsValidFormsAndNormalizes) {
  EXPECT_EQ(normalize_rut("11111111-1"), "11111111-1");
  EXPECT_EQ(normalize_rut("11.111.111-1"), "11111111-1");
  EXPECT_EQ(normalize_rut("12345678-5"), "12345678-5");
  EXPECT_EQ(rut_check_digit("10000013"), 'K');
  EXPECT_EQ(normalize_rut("10000013-k"), "10000013-K");
  EXPECT_EQ(rut_check_digit("10000004"), '0');
}

TEST(Rut, RejectsMalformed) {
  for (const char* bad : {"", "1-", "-1", "11111111-2", "11111111", "abc-1", "0-0", "123456789-1",
                          "11111111-11", "11 111 111-1", "1111111a-1"})
    EXPECT_FALSE(normalize_rut(bad).has_value()) << bad;
}

TEST(PortalTransform, MedicalHistoryKeepsOnlyTheDocumentedFields) {
  auto out = to_medical_history(
      "11111111-1",
      R"({"consultations":[{"id":7,"date":"2026-01-02","doctor":"Dra. Soto",)"
      R"("specialty":"cardiology","diagnosis":"ok","treatment":"rest","internal":"x"}]})");
  ASSERT_TRUE(out.has_value());
  const std::string s = boost::json::serialize(*out);
  EXPECT_THAT(s, HasSubstr("\"patient_rut\":\"11111111-1\""));
  EXPECT_THAT(s, HasSubstr("\"doctor\":\"Dra. Soto\""));
  EXPECT_THAT(s, HasSubstr("\"count\":1"));
  EXPECT_THAT(s, ::testing::Not(HasSubstr("internal")));
}

TEST(PortalTransform, WrongShapeIsRefusedNotGuessed) {
  EXPECT_FALSE(to_medical_history("1-9", "not json").has_value());
  EXPECT_FALSE(to_medical_history("1-9", R"({"consultations":{}})").has_value());
  EXPECT_FALSE(to_doctors("", R"({"medics":[]})").has_value());
  EXPECT_FALSE(to_patient(R"({"name":"no rut"})").has_value());
  EXPECT_FALSE(to_payments("1-9", R"({"payments":[]})",
                           std::string_view(R"({"invoices":[{"status":"pending"}]})"))
                   .has_value());  // a pending invoice without an amount
}

TEST(PortalTransform, PaymentsSumPendingInvoices) {
  auto out = to_payments(
      "11111111-1", R"({"payments":[{"id":1,"date":"2026-01-01","amount":1000,"concept":"x"}]})",
      std::string_view(R"({"invoices":[{"id":1,"amount":2500,"status":"pending"},)"
                       R"({"id":2,"amount":100.5,"status":"pending"},)"
                       R"({"id":3,"amount":999,"status":"paid"}]})"));
  ASSERT_TRUE(out.has_value());
  EXPECT_DOUBLE_EQ(out->at("total_debt").as_double(), 2600.5);
  EXPECT_EQ(out->at("pending_invoices").as_array().size(), 2u);
}

TEST(PortalTransform, PaymentsWithoutInvoicesSayTheyAreDegraded) {
  auto out = to_payments("11111111-1", R"({"payments":[]})", std::nullopt);
  ASSERT_TRUE(out.has_value());
  EXPECT_TRUE(out->at("total_debt").is_null());
  EXPECT_TRUE(out->at("pending_invoices").is_null());
  EXPECT_THAT(boost::json::serialize(*out), HasSubstr("invoices unavailable"));
}

// Configurations about other things than auth run with it off (appended, so that line
// numbers in expected errors stay put).
GatewayConfig parse(const std::string& yaml) {
  const std::string text =
      yaml.find("auth:") == std::string::npos ? yaml + "auth: { enabled: false }\n" : yaml;
  return parse_gateway_config(config::Document::from_string(
      text, "gw.yaml", [](const std::string&) { return std::optional<std::string>(); }));
}

TEST(GatewayConfigSchema, IssueExampleParses) {
  const auto c = parse(R"(
listen: { address: 127.0.0.1, port: 8000 }
upstreams:
  medical:
    endpoints: [ "http://127.0.0.1:5001", "http://127.0.0.1:5002" ]
    selection: ordered
    timeout: 2s
    retry: { attempts: 3, backoff: 100ms, max_backoff: 1s, budget: 0.2 }
    breaker: { consecutive_failures: 5, failure_rate: 0.5, window: 20, min_calls: 10, open_for: 10s, half_open_calls: 2 }
  administrative:
    endpoints: [ "http://127.0.0.1:3012", "http://127.0.0.1:3013" ]
    selection: round_robin
routes:
  - { prefix: /api/medical/, upstream: medical, strip_prefix: /api/medical }
  - { prefix: /api/admin/,   upstream: administrative, strip_prefix: /api/admin }
)");
  ASSERT_EQ(c.upstreams.size(), 2u);
  const auto& m = c.upstreams[0];
  EXPECT_EQ(m.endpoints[1].address.port(), 5002);
  EXPECT_EQ(m.retry.attempts, 3u);
  EXPECT_DOUBLE_EQ(m.budget.ratio, 0.2);
  EXPECT_EQ(m.breaker.open_for, std::chrono::seconds(10));
  EXPECT_EQ(m.endpoint_breaker.half_open_calls, 2u);  // inherits the upstream's
  EXPECT_EQ(c.upstreams[1].selection, resilience::SelectionPolicy::round_robin);
  EXPECT_EQ(c.routes.size(), 2u);
}

TEST(GatewayConfigSchema, ErrorsNameTheKey) {
  auto error_of = [](const std::string& yaml) -> std::string {
    try {
      (void)parse(yaml);
    } catch (const config::ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_THAT(
      error_of("upstreams:\n  a:\n    endpoints: [\"ftp://x\"]\n"),
      HasSubstr("gw.yaml:3:17: upstreams.a.endpoints[0]: endpoint must start with http://"));
  EXPECT_THAT(error_of("upstreams:\n  a:\n    endpoints: [\"http://127.0.0.1:1\"]\n"
                       "routes:\n  - { prefix: /x, upstream: b }\n"),
              HasSubstr("routes[0].upstream: no upstream named 'b'"));
  EXPECT_THAT(error_of("upstreams:\n  a:\n    endpoints: [\"http://127.0.0.1:1\"]\n"
                       "    breaker: { min_calls: 50, window: 10 }\n"),
              HasSubstr("upstreams.a.breaker: min_calls must not exceed window"));
  EXPECT_THAT(error_of("upstreams:\n  a:\n    endpoints: [\"http://127.0.0.1:1\"]\n"
                       "    timeout: 1s\n    per_try_timeout: 2s\n"),
              HasSubstr("upstreams.a.per_try_timeout: must not exceed timeout"));
  EXPECT_THAT(error_of("listen: { port: 70000 }\nupstreams: {}\n"),
              HasSubstr("listen.port: must be between 0 and 65535"));
  EXPECT_THAT(error_of("admin: { token: short }\nupstreams: {}\n"),
              HasSubstr("admin.token: must be at least 16 characters"));
  EXPECT_THAT(error_of("listen: {}\n"), HasSubstr("upstreams: missing required key"));
}

TEST(GatewayConfigSchema, RoutesAreMatchedMostSpecificFirst) {
  const auto c = parse(
      "upstreams:\n  a:\n    endpoints: [\"http://127.0.0.1:1\"]\n"
      "routes:\n  - { prefix: /api/, upstream: a }\n  - { prefix: /api/medical/, upstream: a }\n");
  EXPECT_EQ(c.routes[0].prefix, "/api/medical/");
}

}  // namespace
}  // namespace medgate::gateway

namespace medgate::gateway {
namespace {

TEST(ReadableJson, DoublesInFixedNotationEverythingElseAsJson) {
  const boost::json::value v = boost::json::parse(
      R"({"rate":0.5,"zero":0.0,"big":1234.25,"tiny":1e-9,"n":3,"s":"a\"é","l":[true,null]})");
  EXPECT_EQ(to_readable_json(v),
            R"({"rate":0.5,"zero":0.0,"big":1234.25,"tiny":0.0,"n":3,"s":"a\"é","l":[true,null]})");
  EXPECT_EQ(boost::json::parse(to_readable_json(v)).at("big").as_double(), 1234.25);
}

}  // namespace
}  // namespace medgate::gateway

namespace medgate::gateway {
namespace {

TEST(FdLimit, RaisesTheSoftLimitOrLowersTheCapSayingSo) {
  // 10,000 connections need 20,128 descriptors.
  const auto raised = plan_fd_limit(10'000, 1024, 1'048'576);
  EXPECT_EQ(raised.soft_limit, 20'128U);
  EXPECT_EQ(raised.max_connections, 10'000U);
  EXPECT_TRUE(raised.warning.empty());
  const auto capped = plan_fd_limit(10'000, 1024, 4096);
  EXPECT_EQ(capped.soft_limit, 4096U);
  EXPECT_EQ(capped.max_connections, (4096U - kReservedFds) / 2);
  EXPECT_THAT(capped.warning, ::testing::HasSubstr("lowered from 10000 to 1984"));
  const auto plenty = plan_fd_limit(100, 65536, 65536);
  EXPECT_EQ(plenty.soft_limit, 65536U) << "never lowered";
}

}  // namespace
}  // namespace medgate::gateway

namespace medgate::gateway {
namespace {

clients::WireRequest cors_request(boost::beast::http::verb method, std::string origin,
                                  bool preflight) {
  clients::WireRequest r;
  r.set_method(method);
  r.target = "/api/doctors";
  if (!origin.empty())
    r.fields.add("Origin", origin);
  if (preflight)
    r.fields.add("Access-Control-Request-Method", "POST");
  return r;
}

TEST(Cors, OnlyListedOriginsMayReadAndPreflightIsAnsweredHere) {
  using boost::beast::http::verb;
  const Cors cors({.allowed_origins = {"https://portal.example"}});
  const auto ok = cors.preflight(cors_request(verb::options, "https://portal.example", true));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 204U);
  EXPECT_EQ(ok->fields.find("Access-Control-Allow-Origin"), "https://portal.example");
  EXPECT_THAT(std::string(*ok->fields.find("Access-Control-Allow-Headers")),
              ::testing::HasSubstr("Authorization"));
  const auto evil = cors.preflight(cors_request(verb::options, "https://evil.example", true));
  ASSERT_TRUE(evil);
  EXPECT_EQ(evil->status, 403U);
  EXPECT_FALSE(evil->fields.find("Access-Control-Allow-Origin"));
  EXPECT_FALSE(cors.preflight(cors_request(verb::options, "https://portal.example", false)))
      << "a plain OPTIONS is not a preflight";

  clients::WireResponse res;
  res.fields.add("Vary", "Accept-Encoding");
  res.fields.add("Access-Control-Allow-Origin", "*");  // an upstream's, not medgate's policy
  cors.decorate(cors_request(verb::get, "https://evil.example", false), res);
  EXPECT_FALSE(res.fields.find("Access-Control-Allow-Origin"));
  EXPECT_EQ(res.fields.find("Vary"), "Accept-Encoding, Origin");
  cors.decorate(cors_request(verb::get, "https://portal.example", false), res);
  EXPECT_EQ(res.fields.find("Access-Control-Allow-Origin"), "https://portal.example");
  EXPECT_FALSE(res.fields.find("Access-Control-Allow-Credentials"));
}

TEST(HostAllowList, IpLiteralsLocalhostAndConfiguredNamesOnly) {
  const HostAllowList hosts({"Medgate.Hospital.Example."});
  for (const char* ok :
       {"127.0.0.1", "127.0.0.1:8000", "10.77.0.10:8000", "[::1]", "[::1]:8000", "localhost",
        "LocalHost:8000", "medgate.hospital.example", "MEDGATE.hospital.example.:443"})
    EXPECT_TRUE(hosts.allows(std::string_view(ok))) << ok;
  for (const char* bad :
       {"attacker.example", "attacker.example:8000", "127.0.0.1.nip.example",
        "localhost.attacker.example", "medgate.hospital.example.evil", "",
        "127.0.0.1:", "127.0.0.1:80a", "[::1", "[::1]x", "[not-v6]:80", "host name", "a_b.example"})
    EXPECT_FALSE(hosts.allows(std::string_view(bad))) << bad;
  EXPECT_TRUE(hosts.allows(std::nullopt)) << "no Host: HTTP/1.0 tools";
  EXPECT_TRUE(clients::is_host_name("medgate.hospital.example"));
  EXPECT_TRUE(clients::is_host_name("medgate.hospital.example."));  // fully qualified
  for (const char* bad :
       {"medgate:8000", "", ".", "a..b", "-a.example", "a-.example", "a_b.example", "host name"})
    EXPECT_FALSE(clients::is_host_name(bad)) << bad;
  EXPECT_FALSE(clients::is_host_name(std::string(64, 'a') + ".example")) << "a 64-byte label";
  EXPECT_FALSE(clients::is_host_name(std::string(254, 'a'))) << "254 bytes";
}

}  // namespace
}  // namespace medgate::gateway
