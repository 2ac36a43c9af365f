// medgate with auth on, in front of real test upstreams: who gets through, in which path
// spelling, what the upstream receives, and what the audit and access logs keep.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <fstream>
#include <sstream>

#include "tests/integration/gateway_fixture.hpp"
#include "tests/support/token_kit.hpp"

namespace medgate::testing {
namespace {

using auth::Role;
using ::testing::HasSubstr;
using ::testing::Not;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

size_t count_lines_with(const std::string& text, const std::string& needle) {
  size_t n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    n += line.find(needle) != std::string::npos ? 1 : 0;
  return n;
}

class GatewayAuth : public GatewayFixture {
 protected:
  void SetUp() override {
    GatewayFixture::SetUp();
    kit_ = std::make_unique<TokenKit>(dir_);
    auth_ = "auth:\n" + kit_->verifier_yaml() +
            "  rules:\n"
            "    - { path: \"/api/medical/records/{rut}/**\", methods: [GET], roles: [doctor], "
            "patient_self: true }\n"
            "    - { path: /api/medical/consultations, methods: [POST], roles: [doctor], "
            "audit: true }\n"
            "    - { path: /api/medical/headers, methods: [GET], roles: [service] }\n"
            "audit_log: { path: " +
            dir_ + "/audit.jsonl }\n" + extra_;
    start_gateway();
    patient_a_ = kit_->bearer("11111111-1", {Role::patient});
  }

  // Flushed by medgate's logging thread shortly after the response; polled, bounded.
  std::string wait_for_log(const std::string& path, const std::string& needle, size_t count) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::string text;
    while (std::chrono::steady_clock::now() < until) {
      text = slurp(path);
      if (count_lines_with(text, needle) >= count)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return text;
  }

  std::unique_ptr<TokenKit> kit_;
  std::string patient_a_;
  std::string extra_;  // more top-level configuration, set by a derived fixture
};

class GatewayAuthLimited : public GatewayAuth {
 protected:
  GatewayAuthLimited() { extra_ = "client_rate_limit: { rate: 0.01, burst: 3 }\n"; }
};

class GatewayAuthCors : public GatewayAuth {
 protected:
  GatewayAuthCors() { extra_ = "cors: { allowed_origins: [ \"https://portal.example\" ] }\n"; }
};

TEST_F(GatewayAuthCors, OnlyTheListedOriginMayReadAnswersAndItsPreflightIsAnsweredByMedgate) {
  const long before = upstream_requests(primary_port_);
  const auto pre =
      clients::curl_perform({.method = "OPTIONS",
                             .url = gw("/api/medical/records/11111111-1/consultations"),
                             .headers = {{"Origin", "https://portal.example"},
                                         {"Access-Control-Request-Method", "GET"},
                                         {"Access-Control-Request-Headers", "authorization"}}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(pre.header("access-control-allow-origin"), "https://portal.example");
  EXPECT_EQ(upstream_requests(primary_port_), before) << "a preflight is not forwarded";
  const std::string path = "/api/medical/records/11111111-1/consultations";
  const auto ok = get(path, {{"Authorization", patient_a_}, {"Origin", "https://portal.example"}});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.header("access-control-allow-origin"), "https://portal.example");
  const auto evil = get(path, {{"Authorization", patient_a_}, {"Origin", "https://evil.example"}});
  EXPECT_EQ(evil.header("access-control-allow-origin"), "");
  EXPECT_EQ(clients::curl_perform({.method = "OPTIONS",
                                   .url = gw(path),
                                   .headers = {{"Origin", "https://evil.example"},
                                               {"Access-Control-Request-Method", "GET"}}})
                .status,
            403);
}

TEST_F(GatewayAuthLimited, EachCallerHasItsOwnRateAndAnonymousCallersShareTheirAddress) {
  const std::string path = "/api/medical/records/11111111-1/consultations";
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(get(path, {{"Authorization", patient_a_}}).status, 200) << i;
  const auto limited = get(path, {{"Authorization", patient_a_}});
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(json_get_raw(limited.body, "error"), "rate_limited");
  EXPECT_FALSE(limited.header("retry-after").empty());
  // Another patient, from the same address (as the portal's patients all are): not slowed.
  const auto other = kit_->bearer("22222222-2", {Role::patient});
  EXPECT_EQ(get("/api/medical/records/22222222-2/consultations", {{"Authorization", other}}).status,
            200);
  // Callers without a valid token share their address's bucket.
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(get(path).status, 401) << i;
  EXPECT_EQ(get(path).status, 429);
  EXPECT_EQ(get(path, {{"Authorization", "Bearer forged.token.x"}}).status, 429);
  // Probes are never limited.
  EXPECT_EQ(get("/health").status, 200);
}

TEST_F(GatewayAuth, NoTokenIs401WithAChallengeAndNothingReachesTheUpstream) {
  const long before = upstream_requests(primary_port_);
  const auto r = get("/api/medical/records/11111111-1/consultations");
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.header("www-authenticate"), HasSubstr("Bearer realm=\"medgate\""));
  EXPECT_EQ(json_get_raw(r.body, "error"), "unauthorized");
  const auto bad = get("/api/medical/records/11111111-1/consultations",
                       {{"Authorization", "Bearer not.a.token"}});
  EXPECT_EQ(bad.status, 401);
  EXPECT_THAT(bad.header("www-authenticate"), HasSubstr("error=\"invalid_token\""));
  EXPECT_EQ(upstream_requests(primary_port_), before);
}

TEST_F(GatewayAuth, APatientReadsOwnRecordsAndTheUpstreamGetsTheTokenAndCanonicalPath) {
  const auto r =
      get("/api/medical//records/11.111.111-1/./consultations", {{"Authorization", patient_a_}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_get_raw(r.body, "target"), "/records/11.111.111-1/consultations");
}

// Sent raw: an HTTP client library would tidy the dot segments itself.
TEST_F(GatewayAuth, APatientNeverReachesAnotherPatientInAnySpelling) {
  auto status_of = [&](const std::string& path) {
    const auto raw = raw_exchange(gateway_port_,
                                  "GET " + path +
                                      " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                      "Authorization: " +
                                      patient_a_ + "\r\n\r\n",
                                  3000);
    return raw.substr(0, raw.find("\r\n"));
  };
  const long before = upstream_requests(primary_port_);
  for (const std::string path : {
           "/api/medical/records/22222222-2/consultations",
           "/api/medical/records/22.222.222-2/consultations",
           "/api/medical//records//22222222-2/consultations",
           "/api/medical/records/11111111-1/../22222222-2/consultations",
           "/api/medical/records/11111111-1/%2e%2e/22222222-2/consultations",
           "/api/medical/records/%32%32%32%32%32%32%32%32-%32/consultations",
           "/api/medical/./records/22222222-2/consultations?rut=11111111-1",
           "/API/medical/records/22222222-2/consultations",
           "/api/medical/RECORDS/22222222-2/consultations",
           "/api/medical/../../records/22222222-2/consultations",  // "/records/...": no rule
       }) {
    EXPECT_EQ(status_of(path), "HTTP/1.1 403 Forbidden") << path;
  }
  for (const std::string path : {
           "/api/medical/records/11111111-1%2F..%2F22222222-2/consultations",
           "/api/medical/records/..%5C22222222-2/consultations",
           "/api/medical/../../../records/22222222-2/consultations",
       }) {
    EXPECT_EQ(status_of(path), "HTTP/1.1 400 Bad Request") << path;
  }
  EXPECT_EQ(upstream_requests(primary_port_), before);
  // The same spellings of the patient's own RUT do get through.
  EXPECT_EQ(status_of("/api/medical/records/22222222-2/../11111111-1/consultations"),
            "HTTP/1.1 200 OK");
}

TEST_F(GatewayAuth, TheUpstreamReceivesTheCallersTokenToCheckAgain) {
  const auto tool = kit_->bearer("drill-runner", {Role::service});
  const auto r = get("/api/medical/headers", {{"Authorization", tool}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ("Bearer " + json_get_raw(r.body, "authorization").substr(7), tool);
}

TEST_F(GatewayAuth, StaffNeedTheRouteRole) {
  const auto nurse = kit_->bearer("nurse-7", {Role::nurse});
  const auto doctor = kit_->bearer("doc-3", {Role::doctor});
  const auto refused = post("/api/medical/consultations", "{}",
                            {{"Authorization", nurse}, {"Content-Type", "application/json"}});
  EXPECT_EQ(refused.status, 403);
  EXPECT_THAT(json_get_raw(refused.body, "message"), HasSubstr("may not POST"));
  EXPECT_EQ(post("/api/medical/consultations", "{}",
                 {{"Authorization", doctor}, {"Content-Type", "application/json"}})
                .status,
            200);
  EXPECT_EQ(
      get("/api/medical/records/22222222-2/consultations", {{"Authorization", doctor}}).status,
      200);
  // A path no rule names is refused, whoever asks.
  EXPECT_EQ(get("/api/medical/ok", {{"Authorization", doctor}}).status, 403);
}

TEST_F(GatewayAuth, ExpiredWrongAudienceAndForeignKeyTokensAreRefused) {
  const auto path = std::string("/api/medical/records/11111111-1/consultations");
  const auto expired = kit_->token("11111111-1", {Role::patient}, std::chrono::seconds(-60));
  const auto r = get(path, {{"Authorization", "Bearer " + expired}});
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("token expired"));
  const TokenKit other_audience(dir_ + "/aud", "medgate-test", "another-api", "test-1");
  EXPECT_EQ(
      get(path, {{"Authorization", other_audience.bearer("11111111-1", {Role::patient})}}).status,
      401);
  const TokenKit other_key(dir_ + "/key", "medgate-test", "medgate", "test-1");
  EXPECT_EQ(get(path, {{"Authorization", other_key.bearer("11111111-1", {Role::patient})}}).status,
            401);
}

// The portal's key signs patient tokens only: a token it signed with staff roles (what a
// thief of the internet-facing portal would mint) is refused whole, and the access log says
// why; so is a staff key's token for a patient.
TEST_F(GatewayAuth, AKeySignsOnlyTheRolesItsGrantAllows) {
  const auto stolen = kit_->patient_key_token("mallory", {Role::doctor, Role::administrative});
  const auto r =
      get("/api/medical/records/22222222-2/consultations", {{"Authorization", "Bearer " + stolen}});
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_THAT(r.body, HasSubstr("role doctor not granted to key test-1-patients"));
  EXPECT_THAT(r.header("www-authenticate"), HasSubstr("error=\"invalid_token\""));
  const auto post_r =
      post("/api/medical/consultations", "{}",
           {{"Authorization", "Bearer " + stolen}, {"Content-Type", "application/json"}});
  EXPECT_EQ(post_r.status, 401);
  EXPECT_EQ(upstream_requests(primary_port_) + upstream_requests(replica_port_), 0)
      << "a refused token reaches no upstream";
  const auto access = wait_for_log(dir_ + "/access.log", "not granted to key", 2);
  EXPECT_EQ(count_lines_with(access,
                             "\"token_refused\":\"role doctor not granted to key "
                             "test-1-patients\""),
            2U)
      << access;
  // The patient's own token, signed by the portal's key, passes.
  EXPECT_EQ(
      get("/api/medical/records/11111111-1/consultations", {{"Authorization", patient_a_}}).status,
      200);
}

TEST_F(GatewayAuth, EachCallAboutAPatientLeavesOneAuditEntryAndTheAccessLogNoRut) {
  const auto doctor = kit_->bearer("doc-3", {Role::doctor});
  ASSERT_EQ(
      get("/api/medical/records/11111111-1/consultations", {{"Authorization", patient_a_}}).status,
      200);
  ASSERT_EQ(
      get("/api/medical/records/22222222-2/consultations", {{"Authorization", patient_a_}}).status,
      403);
  ASSERT_EQ(post("/api/medical/consultations", "{}",
                 {{"Authorization", doctor}, {"Content-Type", "application/json"}})
                .status,
            200);
  const auto audit = wait_for_log(dir_ + "/audit.jsonl", "\"request_id\"", 3);
  EXPECT_EQ(count_lines_with(audit, "\"request_id\""), 3U) << audit;
  EXPECT_EQ(count_lines_with(audit,
                             "\"subject\":\"11111111-1\",\"roles\":\"patient\","
                             "\"patient\":\"11111111-1\",\"method\":\"GET\","
                             "\"action\":\"read\""),
            1U)
      << audit;
  EXPECT_EQ(count_lines_with(audit, "\"patient\":\"22222222-2\""), 1U) << audit;
  EXPECT_EQ(count_lines_with(audit, "\"decision\":\"denied\",\"status\":403"), 1U) << audit;
  EXPECT_EQ(count_lines_with(audit, "\"subject\":\"doc-3\",\"roles\":\"doctor\""), 1U) << audit;
  EXPECT_EQ(count_lines_with(audit, "\"action\":\"write\""), 1U) << audit;
  EXPECT_EQ(std::filesystem::status(dir_ + "/audit.jsonl").permissions() &
                std::filesystem::perms::others_all,
            std::filesystem::perms::none);

  // medgate-audit finds them by patient (in any spelling) and by subject.
  const std::string out = dir_ + "/audit-query.txt";
  ASSERT_EQ(run_command({binary_dir() + "/apps/medgate-audit", "--log", dir_ + "/audit.jsonl",
                         "--patient", "11.111.111-1"},
                        out, std::chrono::seconds(10)),
            0);
  EXPECT_EQ(count_lines_with(slurp(out), "\"patient\":\"11111111-1\""), 1U) << slurp(out);
  ASSERT_EQ(run_command({binary_dir() + "/apps/medgate-audit", "--log", dir_ + "/audit.jsonl",
                         "--subject", "doc-3"},
                        out, std::chrono::seconds(10)),
            0);
  EXPECT_EQ(count_lines_with(slurp(out), "\"subject\":\"doc-3\""), 1U) << slurp(out);

  const auto access = wait_for_log(dir_ + "/access.log", "\"request_id\"", 3);
  EXPECT_THAT(access, Not(HasSubstr("11111111-1")));
  EXPECT_THAT(access, Not(HasSubstr("22222222-2")));
  EXPECT_THAT(access, HasSubstr("/api/medical/records/rut~"));
}

// No spelling of a path, and no outcome, puts a RUT in the access log: percent-encoded and
// doubly encoded, refused as an invalid path (an encoded '/'), refused without a token,
// unrouted, with a lower-case k, or in the query.
TEST_F(GatewayAuth, NoRutReachesTheAccessLogWhateverThePathsSpellingOrOutcome) {
  const std::vector<std::pair<std::string, unsigned>> calls = {
      {"/api/medical/records/%31%31111111-1/consultations", 200},
      {"/api/medical/records/%2531%2531111111-1/consultations", 403},
      {"/api/medical/records/x%2F11111111-1/consultations", 400},
      {"/api/medical/records/10.000.013-k/consultations", 403},
      {"/api/unknown/11111111-1", 403},
      {"/api/medical/records/11111111-1.json?rut=11.111.111-1", 403},
  };
  for (const auto& [path, status] : calls)
    EXPECT_EQ(get(path, {{"Authorization", patient_a_}}).status, status) << path;
  EXPECT_EQ(get("/api/medical/records/%31%31111111-1/consultations").status, 401);
  // Every call's line names its patient by pseudonym only (the start-up probe's has none).
  const auto access = wait_for_log(dir_ + "/access.log", "rut~", calls.size() + 1);
  for (const char* rut : {"11111111-1", "11.111.111-1", "10.000.013-k", "%31%31", "1111111-1"})
    EXPECT_THAT(access, Not(HasSubstr(rut))) << access;
  EXPECT_EQ(count_lines_with(access, "rut~"), calls.size() + 1) << access;
}

TEST_F(GatewayAuth, OperatorEndpointsStayOpenOnLoopback) {
  EXPECT_EQ(get("/health").status, 200);
  EXPECT_EQ(get("/status").status, 200);
  EXPECT_EQ(get("/metrics").status, 200);
  EXPECT_EQ(post("/admin/breakers/medical/reset", "").status, 401);
}

}  // namespace
}  // namespace medgate::testing

namespace medgate::testing {
namespace {

class GatewayTls : public GatewayAuth {
 protected:
  void SetUp() override {
    dir_hint_ = make_temp_dir("medgate-tls-");
    ASSERT_TRUE(make_certificate(dir_hint_, "first"));
    std::filesystem::copy_file(dir_hint_ + "/first.crt", dir_hint_ + "/live.crt");
    std::filesystem::copy_file(dir_hint_ + "/first.key", dir_hint_ + "/live.key");
    tls_ = "{ cert_file: " + dir_hint_ + "/live.crt, key_file: " + dir_hint_ +
           "/live.key, reload_check: 200ms }";
    // Longer than the drain test waits: an idle connection must be closed by the drain.
    limits_ = "{ max_header_bytes: 4096, max_body_bytes: 65536, header_timeout: 20s }";
    GatewayAuth::SetUp();
  }
  void TearDown() override {
    GatewayAuth::TearDown();
    std::filesystem::remove_all(dir_hint_);
  }
  clients::CurlResponse tls_get(const std::string& path, const std::string& ca,
                                const std::string& tls_max = "") {
    return clients::curl_perform(
        {.url = "https://127.0.0.1:" + std::to_string(gateway_port_) + path,
         .headers = {{"Authorization", patient_a_}},
         .ca_file = ca,
         .tls_max = tls_max});
  }
  std::string dir_hint_;
};

TEST_F(GatewayTls, ServesOverTlsRefusesOldVersionsAndReloadsTheCertificateWithoutARestart) {
  const std::string path = "/api/medical/records/11111111-1/consultations";
  const auto ok = tls_get(path, dir_hint_ + "/first.crt");
  ASSERT_EQ(ok.status, 200) << ok.error << gateway_->log();
  EXPECT_EQ(json_get_raw(ok.body, "upstream"), "primary");
  EXPECT_EQ(tls_get(path, dir_hint_ + "/first.crt", "1.2").status, 200);
  const auto old = tls_get(path, dir_hint_ + "/first.crt", "1.1");
  EXPECT_EQ(old.status, 0) << "TLS 1.1 is refused";
  EXPECT_EQ(clients::curl_perform({.url = gw(path)}).status, 0) << "no plain HTTP on a TLS port";

  // New files in place: the next connections get the new certificate, no restart.
  ASSERT_TRUE(make_certificate(dir_hint_, "second"));
  std::filesystem::copy_file(dir_hint_ + "/second.crt", dir_hint_ + "/live.crt",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(dir_hint_ + "/second.key", dir_hint_ + "/live.key",
                             std::filesystem::copy_options::overwrite_existing);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  clients::CurlResponse now;
  while (std::chrono::steady_clock::now() < until) {
    now = tls_get(path, dir_hint_ + "/second.crt");
    if (now.status == 200)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(now.status, 200) << now.error << gateway_->log();
  EXPECT_EQ(tls_get(path, dir_hint_ + "/first.crt").status, 0) << "the old certificate is gone";
  EXPECT_THAT(gateway_->log(), HasSubstr("TLS certificate and key reloaded"));
}

// Drain over TLS: a connection accepted before the drain but still in its handshake gets its
// request answered (with Connection: close), and an idle keep-alive connection is closed once
// the grace has passed, so medgate exits long before its drain_timeout.
TEST_F(GatewayTls, DrainAnswersAConnectionAcceptedBeforeItAndClosesIdleOnes) {
  namespace asio = boost::asio;
  namespace http = boost::beast::http;
  using asio::ip::tcp;
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(dir_hint_ + "/first.crt");
  const tcp::endpoint at(asio::ip::make_address("127.0.0.1"), gateway_port_);
  // Runs one asynchronous step, bounded: a hang fails the test instead of blocking it.
  const auto step = [&io](auto start) {
    boost::system::error_code result = asio::error::timed_out;
    io.restart();
    start([&result](boost::system::error_code ec, auto&&...) { result = ec; });
    io.run_for(std::chrono::seconds(5));
    return result;
  };
  http::request<http::empty_body> req(http::verb::get, "/health/liveness", 11);
  req.set(http::field::host, "127.0.0.1");
  const auto exchange = [&](asio::ssl::stream<tcp::socket>& s,
                            http::response<http::string_body>& res) {
    boost::beast::flat_buffer buffer;
    if (const auto ec = step([&](auto h) { http::async_write(s, req, h); }))
      return ec;
    return step([&](auto h) { http::async_read(s, buffer, res, h); });
  };

  asio::ssl::stream<tcp::socket> idle(io, ctx), late(io, ctx);
  idle.next_layer().connect(at);
  ASSERT_FALSE(step([&](auto h) { idle.async_handshake(asio::ssl::stream_base::client, h); }));
  http::response<http::string_body> first;
  ASSERT_FALSE(exchange(idle, first));
  ASSERT_EQ(first.result_int(), 200u);
  ASSERT_TRUE(first.keep_alive());
  // Connected with no handshake yet; a request answered after it on another connection
  // proves it was accepted (the listen queue is first in, first out).
  late.next_layer().connect(at);
  ASSERT_EQ(tls_get("/health/liveness", dir_hint_ + "/first.crt").status, 200);

  gateway_->signal(SIGTERM);
  for (int i = 0; i < 250 && gateway_->log().find("draining") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_THAT(gateway_->log(), HasSubstr("draining"));

  ASSERT_FALSE(step([&](auto h) { late.async_handshake(asio::ssl::stream_base::client, h); }));
  http::response<http::string_body> answered;
  ASSERT_FALSE(exchange(late, answered));
  EXPECT_EQ(answered.result_int(), 200u);
  EXPECT_FALSE(answered.keep_alive()) << "a draining medgate closes after the answer";

  // The idle connection is closed by medgate (an end of stream, not our timeout).
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> none;
  const auto ended = step([&](auto h) { http::async_read(idle, buffer, none, h); });
  EXPECT_NE(ended, asio::error::timed_out);
  EXPECT_EQ(gateway_->stop(0, std::chrono::seconds(5)), 0)
      << "medgate exits once its connections are gone, not at drain_timeout";
}

}  // namespace
}  // namespace medgate::testing
