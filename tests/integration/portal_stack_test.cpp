// The whole path a patient takes: Chromium (headless) -> patient-portal -> medgate ->
// medical-service (MariaDB) and admin-service (PostgreSQL); appointments in the portal's
// own database. Started once for the suite; screenshots land in <build>/screenshots.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/integration/service_fixture.hpp"
#include "tests/support/cdp_browser.hpp"

namespace medgate::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct Stack {
  std::unique_ptr<MariadbServer> mariadb;
  std::unique_ptr<PostgresServer> postgres;
  std::unique_ptr<ServiceProcess> medical;
  std::unique_ptr<ServiceProcess> admin;
  std::unique_ptr<ChildProcess> gateway;
  std::unique_ptr<ServiceProcess> portal;
  std::string dir;
  uint16_t gateway_port = 0;

  Stack() {
    dir = make_temp_dir("portal-stack-");
    mariadb = std::make_unique<MariadbServer>(MariadbServer::Options{});
    create_app_database(*mariadb, "medical", "medical_app");
    create_app_database(*mariadb, "portal", "portal_app");
    postgres = std::make_unique<PostgresServer>();
    postgres->sql("CREATE ROLE admin_app LOGIN PASSWORD 'secret'");
    postgres->sql("CREATE DATABASE administrative OWNER admin_app");
    medical = std::make_unique<ServiceProcess>(
        "medical-service", mariadb_service_yaml({mariadb->port()}, "medical", "medical_app"));
    admin = std::make_unique<ServiceProcess>(
        "admin-service", "database:\n  driver: postgresql\n  nodes: [ \"127.0.0.1:" +
                             std::to_string(postgres->port()) +
                             "\" ]\n  user: admin_app\n  password: secret\n"
                             "  name: administrative\n");
    gateway_port = free_port();
    std::ofstream(dir + "/medgate.yaml")
        << "listen: { address: 127.0.0.1, port: " << gateway_port << " }\n"
        << "threads: 1\n"
        << "auth: { enabled: false }\n"
        << "access_log: { enabled: false }\n"
        << "upstreams:\n"
        << "  medical:\n"
        << "    endpoints: [ \"" << medical->url("") << "\" ]\n"
        << "    retry: { attempts: 2, backoff: 10ms }\n"
        << "    breaker: { consecutive_failures: 3, open_for: 5s }\n"
        << "  administrative:\n"
        << "    endpoints: [ \"" << admin->url("") << "\" ]\n"
        << "routes:\n"
        << "  - { prefix: /api/medical/, upstream: medical, strip_prefix: /api/medical }\n";
    gateway = std::make_unique<ChildProcess>(
        std::vector<std::string>{binary_dir() + "/apps/medgate", "--config", dir + "/medgate.yaml"},
        dir + "/medgate.log");
    EXPECT_TRUE(wait_for_http(gateway_url("/health/liveness"), 10s)) << gateway->log();
    portal = std::make_unique<ServiceProcess>(
        "patient-portal", mariadb_service_yaml({mariadb->port()}, "portal", "portal_app") +
                              "gateway: { url: \"" + gateway_url("") + "\", timeout: 3s }\n");
  }
  ~Stack() {
    portal.reset();
    gateway.reset();
    fs::remove_all(dir);
  }
  [[nodiscard]] std::string gateway_url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(gateway_port) + path;
  }
};

class PortalStack : public ::testing::Test {
 protected:
  // Started by the first test and shared (ctest runs each test in its own process anyway).
  // In SetUp, not SetUpTestSuite: a stack that fails to start must fail the test, and
  // gtest reports failures in SetUpTestSuite as skipped tests.
  void SetUp() override {
    if (!stack_)
      stack_ = new Stack();
    ASSERT_FALSE(::testing::Test::HasFailure()) << "the stack did not start";
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  static Stack* stack_;
};
Stack* PortalStack::stack_ = nullptr;

TEST_F(PortalStack, HeadRequestsThroughMedgateLeaveNothingBehindForTheNextWrite) {
  // Each HEAD answer is a header only; a pooled connection reused after one must be in step,
  // or the next request reads leftovers (a 502 for a write that was committed).
  const std::string history = stack_->gateway_url("/api/medical/patients/11111111-1/consultations");
  for (int i = 0; i < 20; ++i) {
    const auto h = clients::curl_perform({.method = "HEAD", .url = history});
    ASSERT_EQ(h.status, 200) << "HEAD " << i;
  }
  const std::string before = stack_->mariadb->query(
      "SELECT COUNT(*) FROM medical.consultations WHERE diagnosis = 'Otitis'");
  const auto w = clients::curl_perform(
      {.method = "POST",
       .url = stack_->gateway_url("/api/medical/consultations"),
       .body = R"({"patient_rut":"22222222-2","doctor_id":2,"date":"2026-11-21",)"
               R"("diagnosis":"Otitis","treatment":"Drops"})",
       .headers = {{"Content-Type", "application/json"}}});
  EXPECT_EQ(w.status, 201) << w.body;
  EXPECT_EQ(std::stoi(stack_->mariadb->query(
                "SELECT COUNT(*) FROM medical.consultations WHERE diagnosis = 'Otitis'")),
            std::stoi(before) + 1)
      << "written exactly once";
}

TEST_F(PortalStack, AppointmentsApiBooksOnceListsAndCancels) {
  auto& portal = *stack_->portal;
  const auto health = portal.get("/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_THAT(health.body, HasSubstr("\"service\":\"portal\""));
  const std::string body =
      R"({"rut":"11111111-1","specialty":"cardiology","starts_at":"2099-05-04 10:30",)"
      R"("reason":"Control presión"})";
  const auto booked = portal.post("/api/appointments", body, "book-1");
  ASSERT_EQ(booked.status, 201) << booked.body;
  EXPECT_THAT(booked.body, HasSubstr("\"starts_at\":\"2099-05-04 10:30\""));
  EXPECT_EQ(portal.post("/api/appointments", body, "book-1").header("idempotent-replayed"), "true");
  const auto list = portal.get("/api/appointments?rut=11111111-1");
  EXPECT_EQ(list.body.find("2099-05-04 10:30"), list.body.rfind("2099-05-04 10:30"))
      << "booked once: " << list.body;
  const auto past = portal.post(
      "/api/appointments",
      R"({"rut":"11111111-1","specialty":"cardiology","starts_at":"2001-01-01 10:00"})");
  EXPECT_EQ(past.status, 422);
  EXPECT_THAT(past.body, HasSubstr("\"field\":\"starts_at\""));
  EXPECT_EQ(portal.get("/api/appointments?rut=1-1").status, 400);
  const std::string id = booked.body.substr(
      booked.body.find("\"id\":") + 5, booked.body.find(',') - booked.body.find("\"id\":") - 5);
  const auto cancelled = clients::curl_perform(
      {.method = "DELETE", .url = portal.url("/api/appointments/" + id + "?rut=11111111-1")});
  EXPECT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_THAT(cancelled.body, HasSubstr("\"status\":\"cancelled\""));
  const auto other = clients::curl_perform(
      {.method = "DELETE", .url = portal.url("/api/appointments/" + id + "?rut=22222222-2")});
  EXPECT_EQ(other.status, 404) << "another patient's appointment";
}

TEST_F(PortalStack, SignInShowsHistoryAndPaymentsThroughMedgate) {
  auto& portal = *stack_->portal;
  const auto sign_in = portal.get("/");
  EXPECT_THAT(sign_in.body, HasSubstr("<form action=\"/patient\""));
  const auto bad = portal.get("/patient?rut=11111111-2");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("no es válido"));
  const auto page = portal.get("/patient?rut=11111111-1");
  ASSERT_EQ(page.status, 200);
  EXPECT_THAT(page.body, HasSubstr("Ana Pérez"));
  EXPECT_THAT(page.body, HasSubstr("Stage 1 hypertension"));
  EXPECT_THAT(page.body, HasSubstr("Consulta cardiología"));
  EXPECT_THAT(page.body, HasSubstr("Deuda total: $60.000"));
  EXPECT_THAT(page.body, Not(HasSubstr("degraded-banner")));
}

TEST_F(PortalStack, InChromiumLostAnswersAndADoubleSubmitBookOnce) {
  if (!CdpBrowser::available())
    GTEST_SKIP() << "chromium is not installed (scripts/test installs it)";
  auto& portal = *stack_->portal;
  CdpBrowser browser;
  browser.navigate(portal.url("/patient?rut=22222222-2"));
  ASSERT_TRUE(browser.wait_for("document.getElementById('book')")) << portal.log();
  // The first booking request reaches the portal, but its answer is lost on the way back
  // (a 504, as medgate gives for an unknown outcome); the form is also submitted twice.
  (void)browser.eval(
      "(() => { window.sentKeys = []; const realFetch = window.fetch; let lost = false;"
      "window.fetch = async (url, opts) => {"
      "  if (opts && opts.method === 'POST') {"
      "    window.sentKeys.push(opts.headers['Idempotency-Key']);"
      "    if (!lost) { lost = true; await realFetch(url, opts);"
      "                 return new Response('{}', {status: 504}); }"
      "  }"
      "  return realFetch(url, opts);"
      "};"
      "document.getElementById('specialty').value = 'cardiology';"
      "document.getElementById('starts_at').value = '2099-08-02T09:30';"
      "const book = document.getElementById('book');"
      "book.requestSubmit(); book.requestSubmit(); })(); true");
  // Both submissions and the retry carry one key; then the page reloads, booked.
  ASSERT_TRUE(browser.wait_for(
      "document.querySelector('#appointments') && "
      "document.querySelector('#appointments').innerText.includes('2099-08-02 09:30')"))
      << portal.log();
  const auto list = portal.get("/api/appointments?rut=22222222-2").body;
  EXPECT_EQ(list.find("2099-08-02 09:30"), list.rfind("2099-08-02 09:30")) << "booked once";
  EXPECT_NE(list.find("2099-08-02 09:30"), std::string::npos);

  // Every answer lost: after its tries the page says it does not know yet, and pressing the
  // button again (answers back) books once, with the same key.
  (void)browser.eval(
      "(() => { const realFetch = window.fetch; window.answersLost = true;"
      "window.fetch = async (url, opts) => {"
      "  if (opts && opts.method === 'POST' && window.answersLost) {"
      "    await realFetch(url, opts); return new Response('{}', {status: 504}); }"
      "  return realFetch(url, opts);"
      "};"
      "document.getElementById('specialty').value = 'cardiology';"
      "document.getElementById('starts_at').value = '2099-08-03T11:00';"
      "document.getElementById('book').requestSubmit(); })(); true");
  ASSERT_TRUE(browser.wait_for(
      "document.getElementById('book-result').innerText.includes('Aún no sabemos')",
      std::chrono::seconds(20)))
      << std::string(browser.eval("document.body.innerText").as_string());
  (void)browser.eval(
      "window.answersLost = false; document.getElementById('book').requestSubmit(); true");
  ASSERT_TRUE(browser.wait_for(
      "document.querySelector('#appointments') && "
      "document.querySelector('#appointments').innerText.includes('2099-08-03 11:00')"));
  const auto after = portal.get("/api/appointments?rut=22222222-2").body;
  EXPECT_EQ(after.find("2099-08-03 11:00"), after.rfind("2099-08-03 11:00")) << "booked once";
}

TEST_F(PortalStack, InChromiumAPatientSignsInSeesHistoryBooksAndSeesTheDegradedBanner) {
  if (!CdpBrowser::available())
    GTEST_SKIP() << "chromium is not installed (scripts/test installs it)";
  const std::string shots = binary_dir() + "/screenshots";
  fs::create_directories(shots);
  auto& portal = *stack_->portal;
  CdpBrowser browser;

  // Sign in: type the RUT into the form and submit it.
  browser.navigate(portal.url("/"));
  (void)browser.eval(
      "document.getElementById('rut').value = '11.111.111-1';"
      "document.querySelector('form').requestSubmit(); true");
  ASSERT_TRUE(browser.wait_for("document.querySelector('#history table')")) << portal.log();
  const auto page_text = [&] {
    return std::string(browser.eval("document.body.innerText").as_string());
  };
  EXPECT_THAT(page_text(), HasSubstr("Stage 1 hypertension"));
  EXPECT_THAT(page_text(), HasSubstr("Deuda total: $60.000"));
  EXPECT_THAT(page_text(), Not(HasSubstr("Parte de su información")));

  // Book: pick a specialty and a time, submit; the page reloads with the appointment.
  (void)browser.eval(
      "document.getElementById('specialty').value = 'cardiology';"
      "document.getElementById('starts_at').value = '2099-07-01T10:00';"
      "document.getElementById('reason').value = 'Control anual';"
      "document.getElementById('book').requestSubmit(); true");
  ASSERT_TRUE(browser.wait_for(
      "document.querySelector('#appointments').innerText.includes('2099-07-01 10:00')"))
      << page_text();
  EXPECT_THAT(page_text(), HasSubstr("Control anual"));
  browser.screenshot(shots + "/portal-booked.png");
  const auto list = portal.get("/api/appointments?rut=11111111-1").body;
  EXPECT_EQ(list.find("2099-07-01 10:00"), list.rfind("2099-07-01 10:00")) << "booked once";

  // Cancel it with its button.
  (void)browser.eval(
      "[...document.querySelectorAll('#appointments li')].find(li => "
      "li.innerText.includes('2099-07-01 10:00')).querySelector('button').click(); true");
  ASSERT_TRUE(browser.wait_for(
      "[...document.querySelectorAll('#appointments li')].some(li => "
      "li.innerText.includes('2099-07-01 10:00') && li.innerText.includes('anulada'))"));

  // The medical service stops: the page says so and still shows payments.
  stack_->medical.reset();
  browser.navigate(portal.url("/patient?rut=11111111-1"));
  ASSERT_TRUE(browser.wait_for("document.getElementById('degraded-banner')"));
  EXPECT_THAT(page_text(), HasSubstr("Historial médico no disponible en este momento"));
  EXPECT_THAT(page_text(), HasSubstr("Deuda total: $60.000")) << "payments still shown";
  EXPECT_THAT(page_text(), Not(HasSubstr("Stage 1 hypertension")));
  browser.screenshot(shots + "/portal-medical-down.png");
}

}  // namespace
}  // namespace medgate::testing
