// The whole path a patient takes: Chromium (headless) -> patient-portal -> medgate ->
// medical-service (MariaDB) and admin-service (PostgreSQL); appointments in the portal's
// own database. Started once for the suite; screenshots land in <build>/screenshots.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <boost/json.hpp>

#include "tests/integration/service_fixture.hpp"
#include "tests/support/cdp_browser.hpp"
#include "tests/support/shipped_config.hpp"
#include "tests/support/token_kit.hpp"

namespace medgate::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// The access rules medgate ships with (config/medgate.example.yaml), so that the stack runs
// the rules operators get.

constexpr const char* kDemoPassword = "demo-password-for-tests";

struct Stack {
  std::unique_ptr<MariadbServer> mariadb;
  std::unique_ptr<PostgresServer> postgres;
  std::unique_ptr<ServiceProcess> medical;
  std::unique_ptr<ServiceProcess> admin;
  std::unique_ptr<ChildProcess> gateway;
  std::unique_ptr<ServiceProcess> portal;
  std::string dir;
  std::unique_ptr<TokenKit>
      kit;  // medgate and the services trust it; the portal signs with its patient key
  uint16_t gateway_port = 0;

  Stack() {
    dir = make_temp_dir("portal-stack-");
    kit = std::make_unique<TokenKit>(dir);
    const std::string verifier = "auth:\n" + kit->verifier_yaml();
    std::ofstream(dir + "/portal-signing.key.pem") << kit->patient_keys().private_pem;
    mariadb = std::make_unique<MariadbServer>(MariadbServer::Options{});
    create_app_database(*mariadb, "medical", "medical_app");
    create_app_database(*mariadb, "portal", "portal_app");
    postgres = std::make_unique<PostgresServer>();
    postgres->sql("CREATE ROLE admin_app LOGIN PASSWORD 'secret'");
    postgres->sql("CREATE DATABASE administrative OWNER admin_app");
    medical = std::make_unique<ServiceProcess>(
        "medical-service",
        mariadb_service_yaml({mariadb->port()}, "medical", "medical_app") + verifier);
    admin = std::make_unique<ServiceProcess>(
        "admin-service", "database:\n  driver: postgresql\n  nodes: [ \"127.0.0.1:" +
                             std::to_string(postgres->port()) +
                             "\" ]\n  user: admin_app\n  password: secret\n"
                             "  name: administrative\n" +
                             verifier);
    gateway_port = free_port();
    std::ofstream(dir + "/medgate.yaml")
        << "listen: { address: 127.0.0.1, port: " << gateway_port << " }\n"
        << "threads: 1\n"
        << "access_log: { path: " << dir << "/access.log }\n"
        << verifier << shipped_access_rules(true) << "audit_log: { path: " << dir
        << "/audit.jsonl }\n"
        << "upstreams:\n"
        << "  medical:\n"
        << "    endpoints: [ \"" << medical->url("") << "\" ]\n"
        << "    retry: { attempts: 2, backoff: 10ms }\n"
        << "    breaker: { consecutive_failures: 3, open_for: 5s }\n"
        << "  administrative:\n"
        << "    endpoints: [ \"" << admin->url("") << "\" ]\n"
        << "routes:\n"
        << "  - { prefix: /api/medical/, upstream: medical, strip_prefix: /api/medical }\n"
        << "  - { prefix: /api/admin/, upstream: administrative, strip_prefix: /api/admin }\n";
    gateway = std::make_unique<ChildProcess>(
        std::vector<std::string>{binary_dir() + "/apps/medgate", "--config", dir + "/medgate.yaml"},
        dir + "/medgate.log");
    EXPECT_TRUE(wait_for_http(gateway_url("/health/liveness"), 10s)) << gateway->log();
    portal = std::make_unique<ServiceProcess>(
        "patient-portal",
        mariadb_service_yaml({mariadb->port()}, "portal", "portal_app") + "gateway: { url: \"" +
            gateway_url("") + "\", timeout: 3s }\n" + "tokens: { key_file: " + dir +
            "/portal-signing.key.pem, kid: " + kit->patient_kid() +
            ", issuer: medgate-test, audience: medgate, "
            "ttl: 2m }\n"
            "sign_in: { max_failures_per_rut: 3, max_failures_per_address: 100, window: 10m, "
            "lockout: 10m, slowdown_step: 10ms, attempts_per_second: 50, attempts_burst: 100 }\n"
            "demo_accounts: { password: " +
            kDemoPassword + ", ruts: [ 11111111-1, 22222222-2 ] }\n");
  }
  ~Stack() {
    portal.reset();
    gateway.reset();
    fs::remove_all(dir);
  }
  [[nodiscard]] std::string gateway_url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(gateway_port) + path;
  }
  [[nodiscard]] std::string staff_bearer() const {
    using auth::Role;
    return kit->bearer("dr-rojas", {Role::doctor, Role::administrative});
  }
};

// A browser's part, by hand: the session cookie, the page's CSRF token, its Origin.
class PortalUser {
 public:
  explicit PortalUser(ServiceProcess& portal) : portal_(portal) {}

  [[nodiscard]] std::string origin() const { return portal_.url(""); }

  clients::CurlResponse sign_in(const std::string& rut, const std::string& password) {
    auto r = clients::curl_perform(
        {.method = "POST",
         .url = portal_.url("/login"),
         .body = "rut=" + rut + "&password=" + password,
         .headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Origin", origin()}},
         .timeout = std::chrono::seconds(20)});
    const std::string set = r.header("set-cookie");
    if (r.status == 303 && !set.empty()) {
      cookie_ = set.substr(0, set.find(';'));
      const auto page = get("/patient");
      const std::string meta = "name=\"csrf-token\" content=\"";
      const size_t at = page.body.find(meta);
      if (at != std::string::npos)
        csrf_ = page.body.substr(at + meta.size(),
                                 page.body.find('"', at + meta.size()) - at - meta.size());
    }
    return r;
  }
  clients::CurlResponse get(const std::string& path) {
    return clients::curl_perform({.url = portal_.url(path), .headers = {{"Cookie", cookie_}}});
  }
  clients::CurlResponse send(const std::string& method, const std::string& path,
                             const std::string& body = "", const std::string& key = "") {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Cookie", cookie_},
        {"Origin", origin()},
        {"X-CSRF-Token", csrf_},
        {"Content-Type", "application/json"}};
    if (!key.empty())
      headers.emplace_back("Idempotency-Key", key);
    return clients::curl_perform({.method = method,
                                  .url = portal_.url(path),
                                  .body = body,
                                  .headers = headers,
                                  .timeout = std::chrono::seconds(20)});
  }
  [[nodiscard]] const std::string& cookie() const { return cookie_; }
  [[nodiscard]] const std::string& csrf() const { return csrf_; }

 private:
  ServiceProcess& portal_;
  std::string cookie_;
  std::string csrf_;
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

// Signs in through the form, as a patient would; true once the patient's page is shown.
bool sign_in_in_browser(CdpBrowser& browser, ServiceProcess& portal, const std::string& rut) {
  browser.navigate(portal.url("/"));
  if (!browser.wait_for("document.getElementById('password')"))
    return false;
  (void)browser.eval("document.getElementById('rut').value = '" + rut +
                     "';"
                     "document.getElementById('password').value = '" +
                     kDemoPassword +
                     "';"
                     "document.querySelector('form').requestSubmit(); true");
  if (browser.wait_for("document.getElementById('book')"))
    return true;
  ADD_FAILURE() << "after signing in: "
                << std::string(
                       browser.eval("location.href + ' ' + document.body.innerText").as_string());
  return false;
}

TEST_F(PortalStack, HeadRequestsThroughMedgateLeaveNothingBehindForTheNextWrite) {
  // Each HEAD answer is a header only; a pooled connection reused after one must be in step,
  // or the next request reads leftovers (a 502 for a write that was committed).
  const std::string history = stack_->gateway_url("/api/medical/patients/11111111-1/consultations");
  const std::string staff = stack_->staff_bearer();
  for (int i = 0; i < 20; ++i) {
    const auto h = clients::curl_perform(
        {.method = "HEAD", .url = history, .headers = {{"Authorization", staff}}});
    ASSERT_EQ(h.status, 200) << "HEAD " << i;
  }
  const std::string before = stack_->mariadb->query(
      "SELECT COUNT(*) FROM medical.consultations WHERE diagnosis = 'Otitis'");
  const auto w = clients::curl_perform(
      {.method = "POST",
       .url = stack_->gateway_url("/api/medical/consultations"),
       .body = R"({"patient_rut":"22222222-2","doctor_id":2,"date":"2026-11-21",)"
               R"("diagnosis":"Otitis","treatment":"Drops"})",
       .headers = {{"Content-Type", "application/json"}, {"Authorization", staff}}});
  EXPECT_EQ(w.status, 201) << w.body;
  EXPECT_EQ(std::stoi(stack_->mariadb->query(
                "SELECT COUNT(*) FROM medical.consultations WHERE diagnosis = 'Otitis'")),
            std::stoi(before) + 1)
      << "written exactly once";
  // The write's audit line names the body's patient, and who wrote it.
  const auto until = std::chrono::steady_clock::now() + 5s;
  std::string audit;
  while (std::chrono::steady_clock::now() < until &&
         audit.find("\"method\":\"POST\"") == std::string::npos) {
    std::ifstream in(stack_->dir + "/audit.jsonl");
    audit.assign(std::istreambuf_iterator<char>(in), {});
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_THAT(audit, HasSubstr("\"subject\":\"dr-rojas\",\"roles\":\"doctor,administrative\","
                               "\"patient\":\"22222222-2\",\"method\":\"POST\""))
      << audit;
}

TEST_F(PortalStack, NobodyReachesPatientDataWithoutTheRightCredential) {
  // Straight to medgate and to the services: no token, no data.
  EXPECT_EQ(
      clients::curl_perform({.url = stack_->gateway_url("/api/admin/patients?limit=200")}).status,
      401);
  EXPECT_EQ(clients::curl_perform({.url = stack_->admin->url("/patients?limit=200")}).status, 401);
  EXPECT_EQ(
      clients::curl_perform({.url = stack_->medical->url("/patients/11111111-1/consultations")})
          .status,
      401);
  const auto patient = stack_->kit->bearer("11111111-1", {auth::Role::patient});
  const auto others =
      clients::curl_perform({.url = stack_->gateway_url("/api/medical-history/22222222-2"),
                             .headers = {{"Authorization", patient}}});
  EXPECT_EQ(others.status, 403);
  EXPECT_THAT(others.body, Not(HasSubstr("consultations")));
  const auto payment = clients::curl_perform(
      {.method = "POST",
       .url = stack_->gateway_url("/api/admin/payments"),
       .body = R"({"rut":"11111111-1","amount":1,"concept":"x"})",
       .headers = {{"Content-Type", "application/json"}, {"Authorization", patient}}});
  EXPECT_EQ(payment.status, 403);
  const auto own = clients::curl_perform({.url = stack_->gateway_url("/api/payments/11111111-1"),
                                          .headers = {{"Authorization", patient}}});
  EXPECT_EQ(own.status, 200) << own.body;
  EXPECT_THAT(own.body, HasSubstr("\"total_debt\":60000"));
}

TEST_F(PortalStack, EveryRouteRefusesTheUnauthenticatedAndTheWrongRole) {
  using auth::Role;
  struct Case {
    std::string method, path;
    Role wrong;
  };
  const std::vector<Case> medgate_routes = {
      {"GET", "/api/admin/patients", Role::nurse},
      {"POST", "/api/admin/patients", Role::doctor},
      {"GET", "/api/admin/patients/11111111-1", Role::service},
      {"GET", "/api/admin/patients/11111111-1/payments", Role::doctor},
      {"GET", "/api/admin/patients/11111111-1/invoices", Role::nurse},
      {"POST", "/api/admin/payments", Role::doctor},
      {"GET", "/api/medical/patients/11111111-1/consultations", Role::accountant},
      {"POST", "/api/medical/consultations", Role::nurse},
      {"GET", "/api/medical/doctors", Role::accountant},
      {"GET", "/api/medical/doctors/1/availability", Role::accountant},
      {"GET", "/api/medical-history/11111111-1", Role::accountant},
      {"GET", "/api/payments/11111111-1", Role::doctor},
      {"GET", "/api/patient/11111111-1", Role::service},
  };
  auto call = [](const std::string& method, const std::string& url, const std::string& bearer) {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Type", "application/json"}};
    if (!bearer.empty())
      headers.emplace_back("Authorization", bearer);
    return clients::curl_perform(
        {.method = method, .url = url, .body = method == "POST" ? "{}" : "", .headers = headers});
  };
  for (const auto& c : medgate_routes) {
    const auto none = call(c.method, stack_->gateway_url(c.path), "");
    EXPECT_EQ(none.status, 401) << c.method << " " << c.path;
    EXPECT_FALSE(none.header("www-authenticate").empty()) << c.path;
    const auto wrong =
        call(c.method, stack_->gateway_url(c.path), stack_->kit->bearer("someone", {c.wrong}));
    EXPECT_EQ(wrong.status, 403) << c.method << " " << c.path << " as " << auth::to_string(c.wrong);
  }
  EXPECT_EQ(call("GET", stack_->gateway_url("/api/doctors"), "").status, 401);
  // Straight to the services, every route but /health.
  const std::vector<std::pair<std::string, std::string>> medical = {
      {"GET", "/patients/11111111-1/consultations"},
      {"POST", "/consultations"},
      {"GET", "/doctors"},
      {"GET", "/doctors/1/availability"}};
  for (const auto& [method, path] : medical)
    EXPECT_EQ(call(method, stack_->medical->url(path), "").status, 401) << method << " " << path;
  const std::vector<std::pair<std::string, std::string>> admin = {
      {"GET", "/patients"},
      {"POST", "/patients"},
      {"GET", "/patients/11111111-1"},
      {"GET", "/patients/11111111-1/payments"},
      {"GET", "/patients/11111111-1/invoices"},
      {"POST", "/payments"}};
  for (const auto& [method, path] : admin)
    EXPECT_EQ(call(method, stack_->admin->url(path), "").status, 401) << method << " " << path;
}

TEST_F(PortalStack, AppointmentsApiBooksOnceListsAndCancelsForTheSignedInPatientOnly) {
  auto& portal = *stack_->portal;
  const auto health = portal.get("/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_THAT(health.body, HasSubstr("\"service\":\"portal\""));
  PortalUser ana(portal);
  ASSERT_EQ(ana.sign_in("11111111-1", kDemoPassword).status, 303);
  ASSERT_FALSE(ana.csrf().empty());
  const std::string body =
      R"({"specialty":"cardiology","starts_at":"2099-05-04 10:30","reason":"Control presión"})";
  const auto booked = ana.send("POST", "/api/appointments", body, "book-1");
  ASSERT_EQ(booked.status, 201) << booked.body;
  EXPECT_THAT(booked.body, HasSubstr("\"starts_at\":\"2099-05-04 10:30\""));
  EXPECT_EQ(ana.send("POST", "/api/appointments", body, "book-1").header("idempotent-replayed"),
            "true");
  const auto list = ana.get("/api/appointments");
  EXPECT_THAT(list.body, HasSubstr("\"patient_rut\":\"11111111-1\""));
  EXPECT_EQ(list.body.find("2099-05-04 10:30"), list.body.rfind("2099-05-04 10:30"))
      << "booked once: " << list.body;
  const auto past = ana.send("POST", "/api/appointments",
                             R"({"specialty":"cardiology","starts_at":"2001-01-01 10:00"})");
  EXPECT_EQ(past.status, 422);
  EXPECT_THAT(past.body, HasSubstr("\"field\":\"starts_at\""));
  for (const char* bad :
       {R"({"specialty":"cardiology","starts_at":"2099-06-01 10:00","reason":"a\u0000b"})",
        R"({"specialty":"card\u0001","starts_at":"2099-06-01 10:00"})"}) {
    const auto refused = ana.send("POST", "/api/appointments", bad);
    EXPECT_EQ(refused.status, 422) << bad << " -> " << refused.body;
  }
  EXPECT_THAT(ana.get("/api/appointments").body, Not(HasSubstr("2099-06-01"))) << "nothing booked";
  EXPECT_EQ(ana.send("POST", "/api/appointments",
                     R"({"rut":"22222222-2","specialty":"x","starts_at":"2099-01-01 10:00"})")
                .status,
            403)
      << "booking in another patient's name";
  const std::string id = booked.body.substr(
      booked.body.find("\"id\":") + 5, booked.body.find(',') - booked.body.find("\"id\":") - 5);

  PortalUser bruno(portal);
  ASSERT_EQ(bruno.sign_in("22222222-2", kDemoPassword).status, 303);
  EXPECT_EQ(bruno.send("DELETE", "/api/appointments/" + id).status, 404)
      << "another patient's appointment";
  EXPECT_THAT(bruno.get("/api/appointments").body, Not(HasSubstr("2099-05-04 10:30")));
  // The first patient's key, sent by another patient, is another key: a booking of their
  // own, never the first one's answer, nor a hint that the key was used.
  const auto reused = bruno.send("POST", "/api/appointments", body, "book-1");
  EXPECT_EQ(reused.status, 201) << reused.body;
  EXPECT_EQ(reused.header("idempotent-replayed"), "");
  EXPECT_THAT(reused.body, Not(HasSubstr("\"id\":" + id + ",")));
  EXPECT_THAT(bruno.get("/api/appointments").body, HasSubstr("\"patient_rut\":\"22222222-2\""));

  const auto cancelled = ana.send("DELETE", "/api/appointments/" + id);
  EXPECT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_THAT(cancelled.body, HasSubstr("\"status\":\"cancelled\""));
}

TEST_F(PortalStack, SignInIsByPasswordAndTheSessionDecidesWhoseDataIsShown) {
  auto& portal = *stack_->portal;
  const auto form = portal.get("/");
  EXPECT_THAT(form.body, HasSubstr("<form action=\"/login\" method=\"post\"")) << portal.log();
  EXPECT_THAT(form.body, HasSubstr("type=\"password\""));
  EXPECT_EQ(portal.get("/patient?rut=11111111-1").status, 303) << "no session, no page";

  PortalUser someone(portal);
  const auto wrong = someone.sign_in("11111111-1", "not-the-password");
  const auto unknown = someone.sign_in("44444444-4", "not-the-password");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401) << portal.log();
  // The typed RUT is given back in the form; apart from it, the answers are the same.
  auto without = [](std::string body, const std::string& rut) {
    body.replace(body.find("value=\"" + rut), rut.size() + 7, "value=\"");
    return body;
  };
  EXPECT_EQ(without(wrong.body, "11111111-1"), without(unknown.body, "44444444-4"))
      << "the answer does not tell whether the RUT exists";
  EXPECT_THAT(wrong.header("set-cookie"), ::testing::IsEmpty());

  PortalUser ana(portal);
  const auto ok = ana.sign_in("11.111.111-1", kDemoPassword);
  ASSERT_EQ(ok.status, 303) << ok.body;
  EXPECT_EQ(ok.header("location"), "/patient");
  EXPECT_THAT(ok.header("set-cookie"), HasSubstr("HttpOnly; SameSite=Strict; Path=/"));
  // Typing another RUT into the URL changes nothing: the session decides.
  const auto page = ana.get("/patient?rut=22222222-2");
  ASSERT_EQ(page.status, 200);
  EXPECT_THAT(page.body, HasSubstr("Ana Pérez"));
  EXPECT_THAT(page.body, HasSubstr("Hipertensión arterial etapa 1"));
  // Spanish throughout: the page's text (outside its tags: an <option>'s value keeps the
  // code) holds no English word of the demo data and no service code.
  std::string shown;
  bool in_tag = false;
  for (const char c : page.body) {
    in_tag = c == '<' || (in_tag && c != '>');
    if (!in_tag && c != '>')
      shown += c;
  }
  for (const char* english :
       {"Acute", "bronchitis", "Stage 1", "hypertension", "controlled", "Continue", "daily",
        "low-sodium", "months", "cardiology", "pediatrics", "dermatology", "paid"})
    EXPECT_THAT(shown, Not(HasSubstr(english)));
  EXPECT_THAT(shown, HasSubstr("Cardiología"));
  EXPECT_THAT(page.body, HasSubstr("Consulta cardiología"));
  EXPECT_THAT(page.body, HasSubstr("Deuda total: $60.000"));
  EXPECT_THAT(page.body, Not(HasSubstr("degraded-banner")));
  EXPECT_THAT(page.body, Not(HasSubstr("22222222-2")));

  // Each page load read Ana's records through medgate: it left an audit entry.
  std::ifstream audit(stack_->dir + "/audit.jsonl");
  std::stringstream text;
  text << audit.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("\"subject\":\"11111111-1\",\"roles\":\"patient\","
                                    "\"patient\":\"11111111-1\""));

  // Signing out ends the session on the server: the old cookie opens nothing.
  const auto out =
      clients::curl_perform({.method = "POST",
                             .url = portal.url("/logout"),
                             .body = "csrf=" + ana.csrf(),
                             .headers = {{"Cookie", ana.cookie()},
                                         {"Origin", ana.origin()},
                                         {"Content-Type", "application/x-www-form-urlencoded"}}});
  EXPECT_EQ(out.status, 303);
  EXPECT_THAT(out.header("set-cookie"), HasSubstr("Max-Age=0"));
  EXPECT_EQ(ana.get("/patient").status, 303);
  EXPECT_EQ(ana.get("/api/appointments").status, 401);
}

TEST_F(PortalStack, GuessingPasswordsIsSlowedAndLocked) {
  auto& portal = *stack_->portal;
  PortalUser guesser(portal);
  // The stack allows 3 failures per RUT (the default is 5); the right password then waits.
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(guesser.sign_in("33333333-3", "guess-" + std::to_string(i)).status, 401);
  const auto locked = guesser.sign_in("33333333-3", "guess-3");
  EXPECT_EQ(locked.status, 429);
  EXPECT_FALSE(locked.header("retry-after").empty());
  // The account that does exist gets the same treatment.
  PortalUser ana(portal);
  for (int i = 0; i < 3; ++i)
    (void)ana.sign_in("22.222.222-2", "guess-" + std::to_string(i));
  EXPECT_EQ(ana.sign_in("22222222-2", kDemoPassword).status, 429) << "locked, even when right";
  stack_->mariadb->sql("DELETE FROM portal.sign_in_failures WHERE subject = 'rut:22222222-2'");
  EXPECT_EQ(ana.sign_in("22222222-2", kDemoPassword).status, 303);
}

// The lock and the count are one step: twelve wrong passwords sent at once for one RUT get
// at most the limit (3 here) of wrong answers; every other one is told it is locked. And a
// right password does not use up the address's allowance.
TEST_F(PortalStack, ConcurrentGuessesGetNoMoreWrongAnswersThanTheLimit) {
  auto& portal = *stack_->portal;
  std::vector<std::thread> threads;
  std::vector<unsigned> statuses(12);
  std::atomic<int> ready{0};
  for (size_t i = 0; i < statuses.size(); ++i)
    threads.emplace_back([&, i] {
      PortalUser guesser(portal);
      ++ready;
      while (ready.load() < static_cast<int>(statuses.size()))
        std::this_thread::yield();
      statuses[i] = guesser.sign_in("11111111-1", "wrong-" + std::to_string(i)).status;
    });
  for (auto& t : threads)
    t.join();
  const auto wrong = std::count(statuses.begin(), statuses.end(), 401U);
  const auto locked = std::count(statuses.begin(), statuses.end(), 429U);
  EXPECT_LE(wrong, 3) << "wrong answers beyond the limit";
  EXPECT_GE(wrong, 1);
  EXPECT_EQ(wrong + locked, 12);
  PortalUser ana(portal);
  EXPECT_EQ(ana.sign_in("11111111-1", kDemoPassword).status, 429) << "locked, even when right";
  stack_->mariadb->sql("DELETE FROM portal.sign_in_failures WHERE subject = 'rut:11111111-1'");
  ASSERT_EQ(ana.sign_in("11111111-1", kDemoPassword).status, 303);
  // The success gave the address back the attempt it counted: 12 failures, not 13.
  EXPECT_EQ(stack_->mariadb->query(
                "SELECT failures FROM portal.sign_in_failures WHERE subject LIKE 'ip:%'"),
            std::to_string(wrong) + "\n");
}

TEST_F(PortalStack, CrossSiteRequestsAndForeignHostsAreRefused) {
  auto& portal = *stack_->portal;
  PortalUser ana(portal);
  ASSERT_EQ(ana.sign_in("11111111-1", kDemoPassword).status, 303);
  const std::string booking = R"({"specialty":"cardiology","starts_at":"2099-09-09 09:00"})";
  auto post = [&](std::vector<std::pair<std::string, std::string>> headers,
                  const std::string& body) {
    headers.emplace_back("Cookie", ana.cookie());
    return clients::curl_perform({.method = "POST",
                                  .url = portal.url("/api/appointments"),
                                  .body = body,
                                  .headers = std::move(headers)});
  };
  // A form on another site posting text/plain with the cookie: no Origin of ours, no token.
  EXPECT_EQ(
      post({{"Origin", "https://evil.example"}, {"Content-Type", "text/plain"}}, booking).status,
      403);
  EXPECT_EQ(post({{"Origin", ana.origin()}, {"Content-Type", "application/json"}}, booking).status,
            403)
      << "no CSRF token";
  EXPECT_EQ(post({{"Origin", ana.origin()},
                  {"X-CSRF-Token", "wrong"},
                  {"Content-Type", "application/json"}},
                 booking)
                .status,
            403);
  EXPECT_EQ(
      post({{"Origin", ana.origin()}, {"X-CSRF-Token", ana.csrf()}, {"Content-Type", "text/plain"}},
           booking)
          .status,
      415);
  const auto cross_login =
      clients::curl_perform({.method = "POST",
                             .url = portal.url("/login"),
                             .body = "rut=11111111-1&password=x",
                             .headers = {{"Origin", "https://evil.example"},
                                         {"Content-Type", "application/x-www-form-urlencoded"}}});
  EXPECT_EQ(cross_login.status, 403);
  EXPECT_THAT(ana.get("/api/appointments").body, Not(HasSubstr("2099-09-09")));

  // DNS rebinding: a name that is not the portal's gets nothing.
  const auto rebound = clients::curl_perform(
      {.url = portal.url("/"), .headers = {{"Host", "attacker.example:3003"}}});
  EXPECT_EQ(rebound.status, 421);
  // Every page: a CSP with no inline code, no framing, no sniffing, no referrer.
  const auto page = ana.get("/patient");
  const std::string csp = page.header("content-security-policy");
  EXPECT_THAT(csp, HasSubstr("frame-ancestors 'none'"));
  EXPECT_THAT(csp, HasSubstr("script-src 'self'"));
  EXPECT_THAT(csp, Not(HasSubstr("unsafe-inline")));
  EXPECT_EQ(page.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(page.header("referrer-policy"), "same-origin");
  EXPECT_THAT(page.body, Not(HasSubstr("<script>")));
  EXPECT_THAT(page.body, Not(HasSubstr("<style>")));
  EXPECT_EQ(ana.get("/static/portal.js").header("content-type"), "text/javascript; charset=utf-8");
}

TEST_F(PortalStack, InChromiumLostAnswersAndADoubleSubmitBookOnce) {
  if (!CdpBrowser::available())
    GTEST_SKIP() << "chromium is not installed (scripts/test installs it)";
  auto& portal = *stack_->portal;
  CdpBrowser browser;
  ASSERT_TRUE(sign_in_in_browser(browser, portal, "22222222-2")) << portal.log();
  PortalUser bruno(portal);
  ASSERT_EQ(bruno.sign_in("22222222-2", kDemoPassword).status, 303);
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
      "document.querySelector('#appointments').innerText.includes('02-08-2099 09:30')"))
      << portal.log();
  const auto list = bruno.get("/api/appointments").body;
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
      "document.querySelector('#appointments').innerText.includes('03-08-2099 11:00')"));
  const auto after = bruno.get("/api/appointments").body;
  EXPECT_EQ(after.find("2099-08-03 11:00"), after.rfind("2099-08-03 11:00")) << "booked once";
}

// A doctor's free slot booked in one step: two patients racing for it get one booking and
// one plain refusal; the slot is then offered to nobody, until the booking is cancelled.
TEST_F(PortalStack, TwoPatientsRacingForOneFreeSlotGetOneBookingAndAPlainRefusal) {
  auto& portal = *stack_->portal;
  PortalUser ana(portal), tomas(portal);
  ASSERT_EQ(ana.sign_in("11111111-1", kDemoPassword).status, 303);
  ASSERT_EQ(tomas.sign_in("22222222-2", kDemoPassword).status, 303);
  // Dra. Soto (doctor 1) has free slots from tomorrow (the medical seed).
  const auto offered = ana.get("/book/1");
  ASSERT_EQ(offered.status, 200);
  EXPECT_THAT(offered.body, HasSubstr("Reservar con Dra. Camila Soto"));
  const std::string mark = "data-slot=\"";
  const size_t at = offered.body.find(mark);
  ASSERT_NE(at, std::string::npos) << offered.body;
  const std::string slot = offered.body.substr(
      at + mark.size(), offered.body.find('"', at + mark.size()) - at - mark.size());
  const std::string booking = R"({"doctor_id":1,"slot_id":)" + slot + "}";
  clients::CurlResponse a, t;
  std::thread first([&] { a = ana.send("POST", "/api/appointments", booking, "race-a-" + slot); });
  std::thread second(
      [&] { t = tomas.send("POST", "/api/appointments", booking, "race-t-" + slot); });
  first.join();
  second.join();
  ASSERT_EQ((a.status == 201) + (t.status == 201), 1) << a.body << "\n" << t.body;
  auto& winner = a.status == 201 ? ana : tomas;
  const auto& lost = a.status == 201 ? t : a;
  EXPECT_EQ(lost.status, 409) << lost.body;
  EXPECT_THAT(lost.body, HasSubstr("Elija otra"));
  const std::string id = std::to_string(
      boost::json::parse(a.status == 201 ? a.body : t.body).at("appointment").at("id").as_int64());
  // The winner sees it among upcoming appointments; nobody is offered the slot any more.
  const auto page = winner.get("/patient");
  const size_t upcoming = page.body.find("id=\"upcoming\"");
  ASSERT_NE(upcoming, std::string::npos);
  EXPECT_GT(page.body.find("data-appointment=\"" + id + "\""), upcoming);
  for (auto* who : {&ana, &tomas})
    EXPECT_THAT(who->get("/book/1").body, Not(HasSubstr(mark + slot + "\"")));
  // Booking it again with a new key is refused too.
  EXPECT_EQ(ana.send("POST", "/api/appointments", booking, "again-" + slot).status, 409);
  // Cancelled, the slot is free again.
  ASSERT_EQ(winner.send("DELETE", "/api/appointments/" + id).status, 200);
  EXPECT_THAT(ana.get("/book/1").body, HasSubstr(mark + slot + "\""));
}

// axe-core (web/package.json, pinned) on the page `browser` shows: its serious and critical
// violations, one line each; empty when there is none.
std::string accessibility_violations(CdpBrowser& browser) {
  static const std::string axe = [] {
    std::ifstream in(source_dir() + "/web/node_modules/axe-core/axe.min.js");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }();
  if (axe.empty())
    return "axe-core is not installed in web/node_modules (npm ci --prefix web)";
  (void)browser.eval(axe + "; true");
  const auto found = browser.eval(
      "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations"
      "  .filter(v => v.impact === 'serious' || v.impact === 'critical')"
      "  .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' (' +"
      "        v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ') + ')')"
      "  .join('\\n'))");
  return found.is_string() ? std::string(found.as_string()) : "axe did not run";
}

// What a patient sees, at a phone's width and at a desktop's: the sign-in page, the patient
// page and a doctor's booking page, each checked by axe-core with no serious or critical violation,
// and saved as screenshots (<build>/screenshots/portal-{sign-in,patient,booking}-{390,1280}.png).
TEST_F(PortalStack, InChromiumThePagesAreAccessibleAtAPhonesWidthAndADesktops) {
  if (!CdpBrowser::available())
    GTEST_SKIP() << "chromium is not installed (scripts/test installs it)";
  const std::string shots = binary_dir() + "/screenshots";
  fs::create_directories(shots);
  auto& portal = *stack_->portal;
  for (const int width : {390, 1280}) {
    SCOPED_TRACE("width " + std::to_string(width));
    CdpBrowser browser;
    browser.set_viewport(width, width == 390 ? 844 : 900, width == 390);
    const std::string suffix = "-" + std::to_string(width) + ".png";
    browser.navigate(portal.url("/"));
    ASSERT_TRUE(browser.wait_for("document.getElementById('password')"));
    EXPECT_EQ(accessibility_violations(browser), "") << "sign-in page";
    browser.screenshot(shots + "/portal-sign-in" + suffix, true);
    ASSERT_TRUE(sign_in_in_browser(browser, portal, "11111111-1"));
    EXPECT_EQ(accessibility_violations(browser), "") << "patient page";
    // Nothing wider than the screen: no sideways scrolling on a phone.
    EXPECT_LE(browser.eval("document.documentElement.scrollWidth").as_int64(), width);
    browser.screenshot(shots + "/portal-patient" + suffix, true);
    // The booking page: a doctor's free slots, from the link on the patient page.
    (void)browser.eval("document.querySelector('#doctors a[href=\"/book/1\"]').click(); true");
    ASSERT_TRUE(browser.wait_for("document.querySelector('button[data-slot]')"));
    EXPECT_EQ(accessibility_violations(browser), "") << "booking page";
    EXPECT_LE(browser.eval("document.documentElement.scrollWidth").as_int64(), width);
    browser.screenshot(shots + "/portal-booking" + suffix, true);
    if (width == 1280) {
      // One click books the slot: back on the patient page, it is among the upcoming ones.
      (void)browser.eval("document.querySelector('button[data-slot]').click(); true");
      ASSERT_TRUE(browser.wait_for(
          "location.pathname === '/patient' && document.querySelector('#upcoming li')"))
          << std::string(browser.eval("document.body.innerText").as_string());
      EXPECT_THAT(
          std::string(browser.eval("document.getElementById('upcoming').innerText").as_string()),
          HasSubstr("Cardiología"));
    }
  }
}

TEST_F(PortalStack, InChromiumAPatientSignsInSeesOwnHistoryBooksSeesTheDegradedBannerAndSignsOut) {
  if (!CdpBrowser::available())
    GTEST_SKIP() << "chromium is not installed (scripts/test installs it)";
  const std::string shots = binary_dir() + "/screenshots";
  fs::create_directories(shots);
  auto& portal = *stack_->portal;
  CdpBrowser browser;

  // Sign in: type the RUT and the password into the form and submit it.
  ASSERT_TRUE(sign_in_in_browser(browser, portal, "11.111.111-1")) << portal.log();
  ASSERT_TRUE(browser.wait_for("document.querySelector('#history table')")) << portal.log();
  PortalUser ana(portal);
  ASSERT_EQ(ana.sign_in("11111111-1", kDemoPassword).status, 303);
  const auto page_text = [&] {
    return std::string(browser.eval("document.body.innerText").as_string());
  };
  EXPECT_THAT(page_text(), HasSubstr("Hipertensión arterial etapa 1"));
  EXPECT_THAT(page_text(), HasSubstr("Deuda total: $60.000"));
  EXPECT_THAT(page_text(), Not(HasSubstr("Parte de su información")));
  EXPECT_THAT(page_text(), Not(HasSubstr("22222222-2"))) << "only the signed-in patient's data";

  // Book: pick a specialty and a time, submit; the page reloads with the appointment.
  (void)browser.eval(
      "document.getElementById('specialty').value = 'cardiology';"
      "document.getElementById('starts_at').value = '2099-07-01T10:00';"
      "document.getElementById('reason').value = 'Control anual';"
      "document.getElementById('book').requestSubmit(); true");
  ASSERT_TRUE(browser.wait_for(
      "document.querySelector('#appointments').innerText.includes('01-07-2099 10:00')"))
      << page_text();
  EXPECT_THAT(page_text(), HasSubstr("Control anual"));
  browser.screenshot(shots + "/portal-booked.png");
  const auto list = ana.get("/api/appointments").body;
  EXPECT_EQ(list.find("2099-07-01 10:00"), list.rfind("2099-07-01 10:00")) << "booked once";

  // Cancel it with its button.
  (void)browser.eval(
      "[...document.querySelectorAll('#appointments li')].find(li => "
      "li.innerText.includes('01-07-2099 10:00')).querySelector('button').click(); true");
  ASSERT_TRUE(browser.wait_for(
      "[...document.querySelectorAll('#appointments li')].some(li => "
      "li.innerText.includes('01-07-2099 10:00') && li.innerText.includes('anulada'))"));

  // The medical service stops: the page says so and still shows payments.
  stack_->medical.reset();
  browser.navigate(portal.url("/patient"));
  ASSERT_TRUE(browser.wait_for("document.getElementById('degraded-banner')"));
  EXPECT_THAT(page_text(), HasSubstr("Historial médico no disponible en este momento"));
  EXPECT_THAT(page_text(), HasSubstr("Deuda total: $60.000")) << "payments still shown";
  EXPECT_THAT(page_text(), Not(HasSubstr("Hipertensión arterial etapa 1")));
  browser.screenshot(shots + "/portal-medical-down.png");

  // Sign out with the page's button: back to the sign-in form, and the page is closed.
  (void)browser.eval("document.querySelector('form.signout button').click(); true");
  ASSERT_TRUE(browser.wait_for("document.getElementById('password')"));
  browser.navigate(portal.url("/patient"));
  ASSERT_TRUE(browser.wait_for("document.getElementById('password')"))
      << "a signed-out browser is sent to the sign-in form";
}

}  // namespace
}  // namespace medgate::testing

namespace medgate::testing {
namespace {

// Two medgate instances behind the portal: one stopped (SIGTERM, as supervisord does) and
// started again while a patient keeps loading pages. Every page is whole: no error, no
// degraded banner; the portal's calls fail over to the other instance.
TEST_F(PortalStack, TwoGatewaysOneStoppedUnderLoadCostsNoPage) {
  auto& s = *stack_;
  std::ifstream in(s.dir + "/medgate.yaml");
  std::stringstream base;
  base << in.rdbuf();
  auto start_gateway = [&](int n, uint16_t port) {
    std::string yaml = base.str();
    const std::string from = "port: " + std::to_string(s.gateway_port);
    yaml.replace(yaml.find(from), from.size(), "port: " + std::to_string(port));
    const std::string audit = "audit.jsonl";
    yaml.replace(yaml.find(audit), audit.size(), "audit-" + std::to_string(n) + ".jsonl");
    const std::string file = s.dir + "/medgate-" + std::to_string(n) + ".yaml";
    std::ofstream(file) << yaml;
    auto p = std::make_unique<ChildProcess>(
        std::vector<std::string>{binary_dir() + "/apps/medgate", "--config", file},
        s.dir + "/medgate-" + std::to_string(n) + ".log");
    EXPECT_TRUE(wait_for_http("http://127.0.0.1:" + std::to_string(port) + "/health/liveness", 10s))
        << p->log();
    return p;
  };
  const uint16_t port1 = free_port();
  const uint16_t port2 = free_port();
  auto one = start_gateway(1, port1);
  auto two = start_gateway(2, port2);
  ServiceProcess portal("patient-portal",
                        mariadb_service_yaml({s.mariadb->port()}, "portal", "portal_app") +
                            "gateway: { urls: [ \"http://127.0.0.1:" + std::to_string(port1) +
                            "\", \"http://127.0.0.1:" + std::to_string(port2) +
                            "\" ], timeout: 3s }\n" + "tokens: { key_file: " + s.dir +
                            "/portal-signing.key.pem, kid: " + s.kit->patient_kid() +
                            ", issuer: medgate-test, audience: medgate, "
                            "ttl: 2m }\n"
                            "demo_accounts: { password: " +
                            kDemoPassword + ", ruts: [ 11111111-1, 22222222-2 ] }\n");
  PortalUser ana(portal);
  ASSERT_EQ(ana.sign_in("11111111-1", kDemoPassword).status, 303);

  std::atomic<bool> done{false};
  std::atomic<int> pages{0}, bad{0};
  std::string first_bad;
  std::mutex mu;
  std::thread load([&] {
    for (int i = 0; i < 400 && !done; ++i) {
      const auto r = ana.get("/patient");
      ++pages;
      if (r.status != 200 || r.body.find("data-banner=\"degraded\"") != std::string::npos) {
        ++bad;
        std::lock_guard lock(mu);
        if (first_bad.empty())
          first_bad = std::to_string(r.status) + " " +
                      r.body.substr(std::min(r.body.find("data-banner"), r.body.size()), 600);
      }
      // 4 pages a second, 4 medgate calls: under the shipped per-patient limit (20/s) even
      // when one instance takes them all.
      std::this_thread::sleep_for(250ms);
    }
  });
  auto wait_pages = [&](int n) {
    const int target = pages + n;
    for (int i = 0; i < 500 && pages < target; ++i)
      std::this_thread::sleep_for(20ms);
  };
  wait_pages(6);
  EXPECT_EQ(one->stop(SIGTERM, 15s), 0) << one->log();  // drains, then exits 0
  wait_pages(10);
  one = start_gateway(1, port1);
  wait_pages(6);
  EXPECT_EQ(two->stop(SIGTERM, 15s), 0) << two->log();
  wait_pages(10);
  done = true;
  load.join();
  EXPECT_GE(pages.load(), 32);
  EXPECT_EQ(bad.load(), 0) << first_bad;
}

// The sum of medgate_requests_total over every /api/ route and code (not /metrics itself).
double medgate_requests(const Stack& s) {
  const auto m = clients::curl_perform({.url = s.gateway_url("/metrics")});
  double total = 0;
  for (size_t at = m.body.find("\nmedgate_requests_total{"); at != std::string::npos;
       at = m.body.find("\nmedgate_requests_total{", at + 1)) {
    const size_t end = m.body.find("} ", at);
    if (m.body.substr(at, end - at).find("route=\"/api/") != std::string::npos)
      total += std::stod(m.body.substr(end + 2));
  }
  return total;
}

// A page is one medgate call, so one unit of the patient's limit (shipped: 20 a second,
// burst 40): a patient clicking ten times a second for three seconds gets whole pages. At
// four calls a page they would pass the limit after the first second.
TEST_F(PortalStack, APatientClickingFastGetsWholePagesOneMedgateCallEach) {
  auto& portal = *stack_->portal;
  PortalUser ana(portal);
  ASSERT_EQ(ana.sign_in("11111111-1", kDemoPassword).status, 303);
  const double before = medgate_requests(*stack_);
  ASSERT_EQ(ana.get("/patient").status, 200);
  EXPECT_EQ(medgate_requests(*stack_) - before, 1) << "medgate calls for one page";
  int degraded = 0;
  std::string first;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 30; ++i) {
    std::this_thread::sleep_until(start + i * 100ms);
    const auto r = ana.get("/patient");
    if (r.status != 200 || r.body.find("data-banner=\"degraded\"") != std::string::npos) {
      if (degraded++ == 0)
        first = std::to_string(r.status) + " " +
                r.body.substr(std::min(r.body.find("data-banner"), r.body.size()), 400);
    }
  }
  EXPECT_EQ(degraded, 0) << "degraded pages of 30; the first: " << first;
}

}  // namespace
}  // namespace medgate::testing
