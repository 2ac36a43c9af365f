// Beyond loopback, the detailed /health and /status show the topology only to staff or the
// admin; probes keep /health/liveness and /metrics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <spdlog/sinks/null_sink.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "gateway/gateway.hpp"
#include "gateway/portal/hospital_rules.hpp"
#include "tests/support/fake_clock.hpp"
#include "tests/support/fake_transport.hpp"
#include "tests/support/process.hpp"
#include "tests/support/token_kit.hpp"

namespace medgate::testing {
namespace {

using auth::Role;
namespace asio = boost::asio;

class OperatorAccess : public ::testing::Test {
 protected:
  explicit OperatorAccess(bool hospital_rule = true)
      : dir_(make_temp_dir("operator-")), kit_(dir_) {
    const std::string yaml =
        "listen: { address: 0.0.0.0, port: 8000 }\n"
        "admin: { token: an-admin-token-of-length }\n"
        "auth:\n" +
        kit_.verifier_yaml() + "audit_log: { path: " + dir_ +
        "/audit.jsonl }\n"
        "upstreams:\n  medical:\n    endpoints: [ \"http://127.0.0.1:1\" ]\n";
    auto cfg = gateway::parse_gateway_config(config::Document::from_string(
        yaml, "t.yaml", [](const std::string&) { return std::optional<std::string>(); }));
    auto events =
        std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>());
    // The hospital's rule, as medgate's main wires it in.
    gateway::GatewayHooks hooks;
    if (hospital_rule)
      hooks.operator_reader = gateway::staff_reads_operator_views;
    gateway_ = std::make_unique<gateway::Gateway>(
        std::move(cfg), clock_, events, std::vector<std::unique_ptr<gateway::ApiModule>>{},
        std::move(hooks));
  }
  ~OperatorAccess() override { std::filesystem::remove_all(dir_); }

  unsigned status_of(const std::string& path, const std::string& authorization) {
    clients::WireRequest req;
    req.set_method(boost::beast::http::verb::get);
    req.target = path;
    if (!authorization.empty())
      req.fields.add("Authorization", authorization);
    FakeTransport transport(clock_);
    std::mt19937_64 rng(1);
    std::vector<resilience::EndpointView> views;
    auto events = spdlog::logger("t", std::make_shared<spdlog::sinks::null_sink_mt>());
    gateway::CallEnv env{clock_, transport, rng, views, events};
    gateway::RequestInfo info;
    gateway::Reply reply;
    asio::io_context io;
    auto done = asio::co_spawn(io, gateway_->handle(req, env, info, reply), asio::use_future);
    io.run();
    done.get();
    return reply.response.status;
  }

  std::string dir_;
  TokenKit kit_;
  FakeClock clock_;
  std::unique_ptr<gateway::Gateway> gateway_;
};

TEST_F(OperatorAccess, DetailedHealthAndStatusNeedStaffOrAdminBeyondLoopback) {
  for (const char* path : {"/health", "/status"}) {
    EXPECT_EQ(status_of(path, ""), 401U) << path;
    EXPECT_EQ(status_of(path, kit_.bearer("11111111-1", {Role::patient})), 403U) << path;
    EXPECT_NE(status_of(path, kit_.bearer("nurse-1", {Role::nurse})), 401U) << path;
    EXPECT_NE(status_of(path, kit_.bearer("nurse-1", {Role::nurse})), 403U) << path;
    EXPECT_NE(status_of(path, "Bearer an-admin-token-of-length"), 401U) << path;
  }
  EXPECT_EQ(status_of("/health/liveness", ""), 200U);
  EXPECT_EQ(status_of("/metrics", ""), 200U);
}

// The generic core admits no token holder to the operator views unless the application
// says who may: then only the admin token does.
class OperatorAccessWithoutARule : public OperatorAccess {
 protected:
  OperatorAccessWithoutARule() : OperatorAccess(false) {}
};

TEST_F(OperatorAccessWithoutARule, OnlyTheAdminTokenReadsTheDetailBeyondLoopback) {
  EXPECT_EQ(status_of("/status", kit_.bearer("nurse-1", {Role::nurse})), 403U);
  EXPECT_EQ(status_of("/status", "Bearer an-admin-token-of-length"), 200U);
  EXPECT_EQ(status_of("/health/liveness", ""), 200U);
}

TEST(GatewayConfigAuth, AuthOffIsRefusedBeyondLoopbackAndRulesAreValidated) {
  auto error_of = [](const std::string& yaml) -> std::string {
    try {
      (void)gateway::parse_gateway_config(config::Document::from_string(
          yaml, "gw.yaml", [](const std::string&) { return std::optional<std::string>(); }));
    } catch (const config::ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_THAT(error_of("listen: { address: 0.0.0.0 }\nauth: { enabled: false }\nupstreams: {}\n"),
              ::testing::HasSubstr("auth.enabled: authentication may be off only when medgate "
                                   "listens on loopback"));
  EXPECT_THAT(error_of("upstreams: {}\n"), ::testing::HasSubstr("auth: missing required key"));
  EXPECT_THAT(error_of("auth:\n  audience: y\n  keys: []\nupstreams: {}\n"),
              ::testing::HasSubstr("auth needs at least one verification key"));
  // Keys are bound to what they may sign: a key without a grant, a grant without a key, a
  // patient key that would sign staff roles, and the old issuers list are each refused.
  const std::string dir = make_temp_dir("grants-");
  const TokenKit kit(dir);
  const std::string keys = "  audience: medgate\n  key_dir: " + kit.key_dir() + "\n";
  EXPECT_THAT(error_of("auth:\n" + keys +
                       "  grants:\n    - { kid: test-1, issuer: i, roles: [doctor] }\n"
                       "upstreams: {}\n"),
              ::testing::HasSubstr("auth.grants: key 'test-1-patients' has no grant"));
  EXPECT_THAT(
      error_of("auth:\n" + keys +
               "  grants:\n    - { kid: test-1, issuer: i, roles: [doctor] }\n"
               "    - { kid: test-1-patients, issuer: i, roles: [patient, doctor] }\n"
               "    - { kid: nope, issuer: i, roles: [doctor] }\nupstreams: {}\n"),
      ::testing::HasSubstr("auth.grants[1]: a key that signs patient tokens signs nothing else"));
  EXPECT_THAT(error_of("auth:\n" + keys +
                       "  grants:\n    - { kid: nope, issuer: i, roles: [doctor] }\n"
                       "upstreams: {}\n"),
              ::testing::HasSubstr("auth.grants[0].kid: grant for key 'nope', which is not"));
  EXPECT_THAT(error_of("auth:\n  issuers: [x]\n" + keys + "upstreams: {}\n"),
              ::testing::HasSubstr("auth.issuers: issuers is replaced by grants"));
  std::filesystem::remove_all(dir);
  EXPECT_THAT(error_of("auth:\n  enabled: false\n  rules:\n    - { path: /a, roles: [docter] }\n"
                       "upstreams: {}\n"),
              ::testing::HasSubstr("auth.rules[0].roles[0]: unknown role 'docter'"));
  EXPECT_THAT(
      error_of("auth:\n  enabled: false\n  rules:\n    - { path: \"/a/{id}\", roles: [doctor] }\n"
               "upstreams: {}\n"),
      ::testing::HasSubstr("a segment is literal, '*', '**' or '{rut}'"));
}

}  // namespace
}  // namespace medgate::testing
