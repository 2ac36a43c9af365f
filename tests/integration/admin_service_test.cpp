// admin-service against a real PostgreSQL: every endpoint, bad input, idempotent payments,
// invoices paid in the same transaction, and a standby promoted under the running service.
#include <csignal>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/service_fixture.hpp"

namespace medgate::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

// The application role owns its database (it runs its migrations) and nothing else.
void create_admin_database(const PostgresServer& pg) {
  pg.sql("CREATE ROLE admin_app LOGIN PASSWORD 'secret' NOSUPERUSER NOCREATEDB NOCREATEROLE");
  pg.sql("CREATE DATABASE administrative OWNER admin_app");
}

std::string admin_yaml(const std::vector<uint16_t>& ports, const std::string& wait = "10s") {
  std::string nodes;
  for (uint16_t p : ports)
    nodes += std::string(nodes.empty() ? "" : ", ") + "\"127.0.0.1:" + std::to_string(p) + "\"";
  return "database:\n  driver: postgresql\n  nodes: [ " + nodes +
         " ]\n  user: admin_app\n  password: secret\n  name: administrative\n"
         "  failover_wait: " +
         wait + "\n";
}

class AdminService : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = std::make_unique<PostgresServer>();
    create_admin_database(*pg_);
    svc_ = std::make_unique<ServiceProcess>("admin-service", admin_yaml({pg_->port()}, "1s"));
  }
  std::unique_ptr<PostgresServer> pg_;
  std::unique_ptr<ServiceProcess> svc_;
};

TEST_F(AdminService, PatientPaymentsAndInvoicesOfTheDemoPatient) {
  EXPECT_EQ(svc_->get("/health").status, 200);
  const auto p = svc_->get("/patients/11.111.111-1");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_THAT(p.body, HasSubstr("\"name\":\"Ana Pérez\""));
  EXPECT_THAT(p.body, HasSubstr("\"insurance\":\"FONASA\""));
  EXPECT_EQ(svc_->get("/patients/55555555-5").status, 404);
  EXPECT_EQ(svc_->get("/patients/33333333-4").status, 400);
  const auto pay = svc_->get("/patients/11111111-1/payments");
  EXPECT_THAT(pay.body, HasSubstr("\"amount\":25000"));
  EXPECT_THAT(pay.body, Not(HasSubstr("pediatría")));
  const auto inv = svc_->get("/patients/11111111-1/invoices");
  EXPECT_THAT(inv.body, HasSubstr("\"id\":3,\"issued\":\"2026-10-15\",\"due\":\"2026-11-15\","
                                  "\"amount\":42000,\"status\":\"pending\""));
  EXPECT_EQ(svc_->get("/patients/55555555-5/invoices").status, 404);
  const auto list = svc_->get("/patients?limit=1");
  EXPECT_THAT(list.body, HasSubstr("\"limit\":1"));
  EXPECT_EQ(svc_->get("/patients?limit=abc").status, 400);
}

TEST_F(AdminService, PaymentsValidateAndPayInvoicesAtomically) {
  auto field_of = [&](const std::string& body) {
    const auto r = svc_->post("/payments", body);
    EXPECT_EQ(r.status, 422) << body << " -> " << r.body;
    const size_t at = r.body.find("\"field\":\"");
    return at == std::string::npos ? std::string()
                                   : r.body.substr(at + 9, r.body.find('"', at + 9) - at - 9);
  };
  EXPECT_EQ(field_of(R"({"rut":"11111111-1","amount":0,"concept":"x"})"), "amount");
  EXPECT_EQ(field_of(R"({"rut":"11111111-1","amount":100})"), "concept");
  EXPECT_EQ(field_of(R"({"rut":"11111111-1","amount":100,"concept":"probe\u0000tail"})"),
            "concept");  // refused, not stored cut short
  EXPECT_EQ(field_of(R"({"rut":"11111111-1","amount":100,"concept":"two\nlines"})"), "concept");
  EXPECT_EQ(field_of(R"({"rut":"55555555-5","amount":100,"concept":"x"})"), "rut");
  EXPECT_EQ(field_of(R"({"rut":"11111111-1","amount":100,"concept":"x","invoice_id":1})"),
            "invoice_id");  // already paid
  EXPECT_EQ(field_of(R"({"rut":"11111111-1","amount":100,"concept":"x","invoice_id":3})"),
            "amount");  // not the invoice's amount
  // Nothing was written by the refused attempts.
  EXPECT_THAT(svc_->get("/patients/11111111-1/invoices").body,
              HasSubstr("\"id\":3,\"issued\":\"2026-10-15\",\"due\":\"2026-11-15\","
                        "\"amount\":42000,\"status\":\"pending\""));

  const std::string pay3 =
      R"({"rut":"11111111-1","amount":42000,"concept":"Factura 3","invoice_id":3})";
  const auto ok = svc_->post("/payments", pay3, "pay-invoice-3");
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_THAT(ok.body, HasSubstr("\"invoice_id\":3"));
  EXPECT_THAT(ok.body, HasSubstr("\"posted_by\":\"dr-rojas\""));  // the token's subject
  const auto replay = svc_->post("/payments", pay3, "pay-invoice-3");
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.header("idempotent-replayed"), "true");
  EXPECT_EQ(replay.body, ok.body);
  const auto inv = svc_->get("/patients/11111111-1/invoices").body;
  EXPECT_THAT(inv, HasSubstr("\"amount\":42000,\"status\":\"paid\""));
  const auto payments = svc_->get("/patients/11111111-1/payments").body;
  EXPECT_EQ(payments.find("Factura 3"), payments.rfind("Factura 3")) << "paid once";
}

// The portal's key signs patient tokens only: one it signed with staff roles reads nothing.
TEST_F(AdminService, ThePortalsKeyCannotSignStaffTokens) {
  const auto stolen = svc_->tokens().patient_key_token("mallory", {auth::Role::administrative});
  const auto r = clients::curl_perform(
      {.url = svc_->url("/patients"), .headers = {{"Authorization", "Bearer " + stolen}}});
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("role administrative not granted to key"));
  EXPECT_THAT(r.body, Not(HasSubstr("11111111-1")));
}

// A key is its caller's: another staff member who happens to send the same key gets neither
// the first one's answer nor a hint that the key exists; the first caller still gets 422 for
// the same key with another body.
TEST_F(AdminService, AnIdempotencyKeyBelongsToItsCaller) {
  const std::string pay3 =
      R"({"rut":"11111111-1","amount":42000,"concept":"Factura 3","invoice_id":3})";
  const std::string other = R"({"rut":"22222222-2","amount":1500,"concept":"Copago"})";
  ASSERT_EQ(svc_->post("/payments", pay3, "shared-key-1").status, 201);
  const auto second_caller = svc_->tokens().bearer("accountant-2", {auth::Role::accountant});
  const auto theirs = svc_->post_as(second_caller, "/payments", other, "shared-key-1");
  EXPECT_EQ(theirs.status, 201) << theirs.body;
  EXPECT_EQ(theirs.header("idempotent-replayed"), "");
  EXPECT_THAT(theirs.body, HasSubstr("\"concept\":\"Copago\""));
  EXPECT_THAT(theirs.body, Not(HasSubstr("Factura 3")));
  // Their retry replays their own payment, not the first caller's.
  const auto retry = svc_->post_as(second_caller, "/payments", other, "shared-key-1");
  EXPECT_EQ(retry.header("idempotent-replayed"), "true");
  EXPECT_EQ(retry.body, theirs.body);
  // Stripe's rule for one caller: the same key with another body is refused.
  const auto reused = svc_->post("/payments", other, "shared-key-1");
  EXPECT_EQ(reused.status, 422) << reused.body;
  EXPECT_THAT(reused.body, HasSubstr("idempotency_key_reused"));
}

TEST_F(AdminService, ConcurrentTwinsPayAnInvoiceOnceAndReplay) {
  const std::string pay3 =
      R"({"rut":"11111111-1","amount":42000,"concept":"Factura 3","invoice_id":3})";
  // Without the key's lock the twins would see the invoice paid and answer 422.
  expect_one_write_rest_replayed(concurrent_posts(*svc_, "/payments", pay3, "twin-pay-3", 6));
  const auto payments = svc_->get("/patients/11111111-1/payments").body;
  EXPECT_EQ(payments.find("Factura 3"), payments.rfind("Factura 3")) << "paid once";
  for (int round = 0; round < 5; ++round) {
    const std::string body =
        R"({"rut":"11111111-1","amount":1000,"concept":"Copago )" + std::to_string(round) + R"("})";
    expect_one_write_rest_replayed(
        concurrent_posts(*svc_, "/payments", body, "twin-" + std::to_string(round), 4));
  }
}

TEST_F(AdminService, AHungPrimaryGetsQuickAnswersFromHealthAndWrites) {
  ASSERT_EQ(svc_->get("/health").status, 200);
  pg_->signal_all(SIGSTOP);  // the server and its backends: a hung database, not a dead one
  const auto t0 = std::chrono::steady_clock::now();
  const auto health = clients::curl_perform(
      {.url = svc_->url("/health"), .headers = {{"X-Medgate-Timeout-Ms", "1000"}}});
  const auto health_took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(health.status, 503) << health.body;
  EXPECT_THAT(health.body, HasSubstr("\"status\":\"down\""));
  EXPECT_LT(health_took, std::chrono::milliseconds(1500)) << "within the checker's budget";

  const auto t1 = std::chrono::steady_clock::now();
  const auto write =
      clients::curl_perform({.method = "POST",
                             .url = svc_->url("/payments"),
                             .body = R"({"rut":"11111111-1","amount":1000,"concept":"hung"})",
                             .headers = {{"Content-Type", "application/json"},
                                         {"Authorization", svc_->staff_bearer()},
                                         {"Idempotency-Key", "hung-1"},
                                         {"X-Medgate-Timeout-Ms", "2000"}},
                             .timeout = std::chrono::seconds(15)});
  const auto write_took = std::chrono::steady_clock::now() - t1;
  pg_->signal_all(SIGCONT);
  EXPECT_TRUE(write.status == 503 || write.status == 504) << write.body;
  EXPECT_LT(write_took, std::chrono::milliseconds(2500)) << "before the caller's 2 s run out";
  // Whatever it was, the key tells: the retry either replays or writes it now, once.
  const auto again =
      clients::curl_perform({.method = "POST",
                             .url = svc_->url("/payments"),
                             .body = R"({"rut":"11111111-1","amount":1000,"concept":"hung"})",
                             .headers = {{"Content-Type", "application/json"},
                                         {"Authorization", svc_->staff_bearer()},
                                         {"Idempotency-Key", "hung-1"}},
                             .timeout = std::chrono::seconds(20)});
  EXPECT_EQ(again.status, 201) << again.body;
  const auto payments = svc_->get("/patients/11111111-1/payments").body;
  EXPECT_EQ(payments.find("\"hung\""), payments.rfind("\"hung\"")) << "paid once";
}

TEST_F(AdminService, CreatePatientOnceThenConflict) {
  const std::string body =
      R"({"rut":"12345678-5","name":"Luis Fuentes","birth_date":"1990-01-31","email":"luis@example.org"})";
  const auto created = svc_->post("/patients", body);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_THAT(created.body, HasSubstr("\"rut\":\"12345678-5\""));
  const auto again = svc_->post("/patients", body);
  EXPECT_EQ(again.status, 409);
  EXPECT_THAT(again.body, HasSubstr("\"field\":\"rut\""));
  const auto bad = svc_->post("/patients", R"({"rut":"12345678-5","name":"X","email":"no"})");
  EXPECT_EQ(bad.status, 422);
  EXPECT_THAT(bad.body, HasSubstr("\"field\":\"email\""));
  const auto bad_date =
      svc_->post("/patients", R"({"rut":"7654321-6","name":"X","birth_date":"1990-13-01"})");
  EXPECT_EQ(bad_date.status, 422);
  EXPECT_THAT(bad_date.body, HasSubstr("\"field\":\"birth_date\""));
  for (const char* field : {"name", "email", "phone", "insurance"}) {
    const auto nul = svc_->post("/patients", std::string(R"({"rut":"7654321-6","name":"X",")") +
                                                 field + R"(":"probe\u0000tail"})");
    EXPECT_EQ(nul.status, 422) << field;
    EXPECT_THAT(nul.body, HasSubstr(std::string("\"field\":\"") + field + "\"")) << nul.body;
  }
  EXPECT_EQ(svc_->get("/patients/7654321-6").status, 404) << "nothing was written";
}

TEST(AdminServiceFailover, WritesResumeOnThePromotedStandbyWithoutRestart) {
  PostgresServer primary;
  create_admin_database(primary);
  auto standby = PostgresServer::standby_of(primary);
  ServiceProcess svc("admin-service", admin_yaml({primary.port(), standby->port()}));
  const std::string pay = R"({"rut":"11111111-1","amount":1000,"concept":"Copago"})";
  ASSERT_EQ(svc.post("/payments", pay, "copago-1").status, 201) << svc.log();
  primary.kill();
  standby->promote();
  const auto after = svc.post("/payments", pay, "copago-2");
  EXPECT_EQ(after.status, 201) << after.body << "\n" << svc.log();
  const auto list = svc.get("/patients/11111111-1/payments").body;
  EXPECT_NE(list.find("Copago"), list.rfind("Copago")) << "both payments: " << list;
  EXPECT_THAT(svc.get("/health").body,
              HasSubstr("\"primary\":\"127.0.0.1:" + std::to_string(standby->port()) + "\""));
}

TEST(AdminServiceFailover, WhileThePrimaryHangsTheStandbyServesReadsAndHealthSaysDegraded) {
  PostgresServer primary;
  create_admin_database(primary);
  auto standby = PostgresServer::standby_of(primary);
  ServiceProcess svc("admin-service", admin_yaml({primary.port(), standby->port()}));
  ASSERT_EQ(svc.get("/patients/11111111-1").status, 200) << svc.log();
  primary.signal_all(SIGSTOP);
  auto get = [&](const std::string& path) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = clients::curl_perform(
        {.url = svc.url(path),
         .headers = {{"X-Medgate-Timeout-Ms", "2000"}, {"Authorization", svc.staff_bearer()}}});
    return std::make_pair(r, std::chrono::steady_clock::now() - t0);
  };
  // The first read gives the hung primary half its budget, then reads the standby.
  const auto [first, first_took] = get("/patients/11111111-1");
  EXPECT_EQ(first.status, 200) << first.body;
  EXPECT_LT(first_took, std::chrono::milliseconds(2000));
  const auto [next, next_took] = get("/patients/11111111-1/invoices");
  EXPECT_EQ(next.status, 200) << next.body;
  EXPECT_LT(next_took, std::chrono::milliseconds(500)) << "no new wait on the suspect primary";
  const auto [health, health_took] = get("/health");
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_THAT(health.body, HasSubstr("\"status\":\"degraded\""));
  EXPECT_LT(health_took, std::chrono::milliseconds(2000));
  primary.signal_all(SIGCONT);
}

}  // namespace
}  // namespace medgate::testing
