// medical-service against a real MariaDB: every endpoint, bad input, idempotent POSTs,
// fencing, and a failover under the running service.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include <atomic>
#include <mutex>
#include <thread>

#include "tests/integration/service_fixture.hpp"

namespace medgate::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

class MedicalService : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<MariadbServer>(MariadbServer::Options{});
    create_app_database(*db_, "medical", "medical_app");
    svc_ = std::make_unique<ServiceProcess>(
        "medical-service", mariadb_service_yaml({db_->port()}, "medical", "medical_app", "1s"));
  }
  std::unique_ptr<MariadbServer> db_;
  std::unique_ptr<ServiceProcess> svc_;
};

const char* kNewConsultation = R"({"patient_rut":"11.111.111-1","doctor_id":2,"date":"2026-11-20",)"
                               R"("diagnosis":"Sinusitis","treatment":"Saline rinses"})";

TEST_F(MedicalService, HealthAndHistoryOfTheDemoPatient) {
  const auto h = svc_->get("/health");
  EXPECT_EQ(h.status, 200) << h.body;
  EXPECT_THAT(h.body, HasSubstr("\"status\":\"ok\""));
  const auto r = svc_->get("/patients/11111111-1/consultations");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("\"patient_rut\":\"11111111-1\""));
  // Newest first.
  const size_t sept = r.body.find("2026-09-28");
  const size_t march = r.body.find("2026-03-10");
  ASSERT_NE(sept, std::string::npos);
  ASSERT_NE(march, std::string::npos);
  EXPECT_LT(sept, march);
  EXPECT_THAT(r.body, HasSubstr("\"doctor\":\"Dra. Camila Soto\""));
  EXPECT_THAT(r.body, Not(HasSubstr("Otitis")));  // another patient's
  EXPECT_EQ(svc_->get("/patients/55555555-5/consultations").body,
            R"({"patient_rut":"55555555-5","consultations":[]})");
}

TEST_F(MedicalService, HeadAnswersTheHeaderOnlySoTheConnectionStaysInStep) {
  // HEAD then GET on one kept-alive connection: the first answer must end at its header, or
  // its body would be read as the start of the second.
  const std::string both = raw_exchange(
      svc_->port(), "HEAD /doctors HTTP/1.1\r\nHost: x\r\nAuthorization: " + svc_->staff_bearer() +
                        "\r\n\r\nGET /doctors HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        "Authorization: " +
                        svc_->staff_bearer() + "\r\n\r\n");
  const size_t first_end = both.find("\r\n\r\n");
  ASSERT_NE(first_end, std::string::npos) << both;
  EXPECT_EQ(both.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_THAT(both.substr(0, first_end), HasSubstr("Content-Length: "));
  // The next bytes are the GET's status line, not a body.
  EXPECT_EQ(both.substr(first_end + 4, 15), "HTTP/1.1 200 OK") << both;
  EXPECT_THAT(both.substr(first_end + 4), HasSubstr("\"doctors\""));
}

TEST_F(MedicalService, TheHeaderLimitOf16KiBHolds) {
  auto get_with = [&](size_t bytes) {
    return clients::curl_perform(
        {.url = svc_->url("/health"), .headers = {{"X-Big", std::string(bytes, 'a')}}});
  };
  EXPECT_EQ(get_with(12 * 1024).status, 200);
  const auto refused = get_with(20 * 1024);
  EXPECT_EQ(refused.status, 431);
  EXPECT_THAT(refused.body, HasSubstr("header"));
}

TEST_F(MedicalService, AClientThatExpectsContinueIsToldToGoOn) {
  const std::string body = kNewConsultation;
  const std::string reply =
      raw_exchange(svc_->port(),
                   "POST /consultations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Authorization: " +
                       svc_->staff_bearer() +
                       "\r\nExpect: 100-continue\r\nConnection: close\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 ")) << reply;
}

TEST_F(MedicalService, RefusesCallsWithoutACredentialThatItsRulesAllow) {
  using auth::Role;
  auto get_as = [&](const std::string& path, const std::string& auth) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!auth.empty())
      headers.emplace_back("Authorization", auth);
    return clients::curl_perform({.url = svc_->url(path), .headers = headers});
  };
  const std::string own = "/patients/11111111-1/consultations";
  const auto none = get_as(own, "");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.header("www-authenticate"), "Bearer realm=\"medgate\"");
  EXPECT_EQ(get_as(own, "Bearer forged.token.here").status, 401);
  const auto patient = svc_->tokens().bearer("11111111-1", {Role::patient});
  EXPECT_EQ(get_as(own, patient).status, 200);
  const auto other = get_as("/patients/22222222-2/consultations", patient);
  EXPECT_EQ(other.status, 403);
  EXPECT_THAT(other.body, HasSubstr("only their own records"));
  const auto nurse = svc_->tokens().bearer("nurse-1", {Role::nurse});
  EXPECT_EQ(get_as("/patients/22222222-2/consultations", nurse).status, 200);
  const auto write = clients::curl_perform(
      {.method = "POST",
       .url = svc_->url("/consultations"),
       .body = kNewConsultation,
       .headers = {{"Content-Type", "application/json"}, {"Authorization", nurse}}});
  EXPECT_EQ(write.status, 403) << write.body;
  EXPECT_EQ(get_as("/health", "").status, 200);  // probes need no token
  // The portal's key signs patients only: its token with staff roles is refused here too.
  const auto stolen =
      "Bearer " + svc_->tokens().patient_key_token("mallory", {Role::doctor, Role::nurse});
  const auto forged = get_as("/patients/22222222-2/consultations", stolen);
  EXPECT_EQ(forged.status, 401);
  EXPECT_THAT(forged.body, HasSubstr("not granted to key"));
}

// The service's own log lines name no patient either, for refused spellings included.
TEST_F(MedicalService, ItsLogNamesNoPatientWhateverThePathsSpelling) {
  for (const char* path :
       {"/patients/%31%31111111-1/consultations", "/patients/11.111.111-1/consultations",
        "/patients/x%2F11111111-1", "/patients/11111111-1/consultations?rut=10.000.013-k"})
    (void)svc_->get(path);
  ASSERT_EQ(svc_->get("/patients/11111111-1/consultations").status, 200);
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < until &&
         svc_->log().find("\"status\":200") == std::string::npos)
    std::this_thread::sleep_for(20ms);
  const std::string log = svc_->log();
  EXPECT_THAT(log, HasSubstr("rut~"));
  for (const char* rut : {"11111111-1", "11.111.111-1", "%31%31", "10.000.013-k"})
    EXPECT_THAT(log, Not(HasSubstr(rut))) << log;
}

// A call that goes around medgate is audited by the service itself, in medgate's format:
// reads (allowed and refused) and a write whose patient is in the body; medgate-audit finds
// them by patient.
TEST_F(MedicalService, ADirectCallIsAuditedHereInMedgatesFormat) {
  using auth::Role;
  const auto patient = svc_->tokens().bearer("11111111-1", {Role::patient});
  auto get_as = [&](const std::string& path, const std::string& auth) {
    return clients::curl_perform({.url = svc_->url(path), .headers = {{"Authorization", auth}}});
  };
  ASSERT_EQ(get_as("/patients/11111111-1/consultations", patient).status, 200);
  ASSERT_EQ(get_as("/patients/22222222-2/consultations", patient).status, 403);
  ASSERT_EQ(svc_->post("/consultations", kNewConsultation).status, 201);
  ASSERT_EQ(svc_->get("/doctors").status, 200);  // no patient: not audited
  std::string audit;
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < until &&
         std::count(audit.begin(), audit.end(), '\n') < 3) {
    std::ifstream in(svc_->audit_path());
    audit.assign(std::istreambuf_iterator<char>(in), {});
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(std::count(audit.begin(), audit.end(), '\n'), 3) << audit;
  EXPECT_THAT(audit, HasSubstr("\"component\":\"medical\""));
  // Each call has an id of its own (a generator read on the wrong thread gave zeros).
  EXPECT_THAT(audit, Not(HasSubstr("\"request_id\":\"0000000000000000")));
  EXPECT_THAT(audit, HasSubstr("\"subject\":\"11111111-1\",\"roles\":\"patient\","
                               "\"patient\":\"11111111-1\",\"method\":\"GET\",\"action\":"
                               "\"read\",\"route\":\"GET /patients/{rut}/consultations\""));
  EXPECT_THAT(audit, HasSubstr("\"patient\":\"22222222-2\",\"method\":\"GET\""));
  EXPECT_THAT(audit, HasSubstr("\"decision\":\"denied\",\"status\":403,\"outcome\":\"refused\""));
  EXPECT_THAT(audit, HasSubstr("\"subject\":\"dr-rojas\",\"roles\":\"doctor,nurse,"
                               "administrative,accountant\",\"patient\":\"11111111-1\","
                               "\"method\":\"POST\",\"action\":\"write\""));
  const std::string out = svc_->audit_path() + ".query";
  ASSERT_EQ(run_command({binary_dir() + "/apps/medgate-audit", "--log", svc_->audit_path(),
                         "--patient", "11.111.111-1"},
                        out, 10s),
            0);
  std::ifstream q(out);
  size_t found = 0;
  for (std::string line; std::getline(q, line);)
    found += line.find("\"patient\":\"11111111-1\"") != std::string::npos ? 1 : 0;
  EXPECT_EQ(found, 2U);
}

TEST_F(MedicalService, MetricsCountRequestsByRoutePatternAndNameNoPatient) {
  ASSERT_EQ(svc_->get("/doctors").status, 200);
  ASSERT_EQ(svc_->get("/patients/11111111-1/consultations").status, 200);
  const auto m = clients::curl_perform({.url = svc_->url("/metrics")});  // no token: a probe
  ASSERT_EQ(m.status, 200);
  EXPECT_THAT(m.body, HasSubstr("medgate_service_requests_total{code=\"2xx\",route=\"GET "
                                "/doctors\",service=\"medical\"} 1"));
  EXPECT_THAT(m.body, HasSubstr("route=\"GET /patients/{rut}/consultations\""));
  EXPECT_THAT(m.body, Not(HasSubstr("11111111-1")));
  EXPECT_THAT(m.body, HasSubstr("medgate_service_request_duration_seconds_bucket"));
  const std::string file = ::testing::TempDir() + "/service-metrics.txt";
  std::ofstream(file) << m.body;
  EXPECT_EQ(std::system(("promtool check metrics < " + file + " > /dev/null 2>&1").c_str()), 0);
}

TEST_F(MedicalService, BadRutIs400NamingTheField) {
  const auto r = svc_->get("/patients/11111111-2/consultations");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("\"field\":\"rut\""));
  EXPECT_EQ(svc_->get("/nope").status, 404);
  EXPECT_EQ(svc_->post("/doctors", "{}").status, 405);
}

TEST_F(MedicalService, DoctorsBySpecialtyWithAvailability) {
  const auto all = svc_->get("/doctors");
  ASSERT_EQ(all.status, 200);
  EXPECT_THAT(all.body, HasSubstr("\"name\":\"Dr. Benjamín Díaz\",\"specialty\":\"dermatology\","
                                  "\"available\":false"));
  const auto cardio = svc_->get("/doctors?specialty=cardiology");
  EXPECT_THAT(cardio.body, HasSubstr("\"available\":true"));
  EXPECT_THAT(cardio.body, Not(HasSubstr("pediatrics")));
  const auto slots = svc_->get("/doctors/1/availability");
  ASSERT_EQ(slots.status, 200);
  EXPECT_THAT(slots.body, HasSubstr("\"doctor_id\":1"));
  EXPECT_THAT(slots.body, HasSubstr("\"booked\":false"));
  EXPECT_EQ(svc_->get("/doctors/99/availability").status, 404);
  const auto bad = svc_->get("/doctors/x1/availability");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("\"field\":\"id\""));
}

TEST_F(MedicalService, PostConsultationValidatesEveryField) {
  auto expect_field = [&](const std::string& body, const std::string& field) {
    const auto r = svc_->post("/consultations", body);
    EXPECT_EQ(r.status, 422) << body << " -> " << r.body;
    EXPECT_THAT(r.body, HasSubstr("\"field\":\"" + field + "\"")) << body;
  };
  expect_field(R"({"doctor_id":2,"date":"2026-11-20","diagnosis":"x","treatment":"y"})",
               "patient_rut");
  expect_field(R"({"patient_rut":"11111111-1","doctor_id":2,"date":"2026-02-30",)"
               R"("diagnosis":"x","treatment":"y"})",
               "date");
  expect_field(R"({"patient_rut":"11111111-1","doctor_id":2,"date":"2026-11-20",)"
               R"("diagnosis":")" +
                   std::string(501, 'a') + R"(","treatment":"y"})",
               "diagnosis");
  expect_field(R"({"patient_rut":"11111111-1","doctor_id":"2","date":"2026-11-20",)"
               R"("diagnosis":"x","treatment":"y"})",
               "doctor_id");
  // A NUL (or any control character) is refused, never stored cut short; line breaks are
  // allowed in the clinical notes only.
  expect_field(R"({"patient_rut":"11111111-1","date":"2026-11-20",)"
               R"("diagnosis":"probe\u0000tail","treatment":"y"})",
               "diagnosis");
  expect_field(R"({"patient_rut":"11111111-1","date":"2026-11-20",)"
               R"("diagnosis":"x","treatment":"bell\u0007"})",
               "treatment");
  expect_field(R"({"patient_rut":"11111111-1","date":"2026-11-20",)"
               R"("diagnosis":"c1\u0085","treatment":"y"})",
               "diagnosis");
  EXPECT_EQ(svc_->post("/consultations", "not json").status, 400);
  // Nothing was half-written.
  EXPECT_EQ(db_->query("SELECT COUNT(*) FROM medical.consultations"), "4\n");
}

// A consultation is the token's doctor's: written in their name without a doctor_id, refused
// with another doctor's id, refused for a subject the service does not know as a doctor.
TEST_F(MedicalService, AConsultationIsWrittenByTheDoctorTheTokenNames) {
  using auth::Role;
  const std::string body = R"({"patient_rut":"22222222-2","date":"2026-11-22",)"
                           R"("diagnosis":"Line one\nline two","treatment":"Rest"})";
  const auto soto = svc_->tokens().bearer("dr-soto", {Role::doctor});
  const auto own = svc_->post_as(soto, "/consultations", body);
  ASSERT_EQ(own.status, 201) << own.body;
  EXPECT_THAT(own.body, HasSubstr("\"doctor\":\"Dra. Camila Soto\""));
  EXPECT_THAT(own.body, HasSubstr("\"doctor_id\":1"));
  EXPECT_THAT(own.body, HasSubstr("Line one\\nline two"));
  EXPECT_EQ(db_->query("SELECT recorded_by FROM medical.consultations WHERE date = '2026-11-22'"),
            "dr-soto\n");

  const auto as_rojas = svc_->post_as(soto, "/consultations",
                                      R"({"patient_rut":"22222222-2","doctor_id":2,)"
                                      R"("date":"2026-11-23","diagnosis":"x","treatment":"y"})");
  EXPECT_EQ(as_rojas.status, 403) << as_rojas.body;
  EXPECT_THAT(as_rojas.body, HasSubstr("in the name of the doctor the token names"));
  const auto stranger =
      svc_->post_as(svc_->tokens().bearer("dr-nobody", {Role::doctor}), "/consultations", body);
  EXPECT_EQ(stranger.status, 403) << stranger.body;
  EXPECT_THAT(stranger.body, HasSubstr("not a doctor known to the medical service"));
  // Neither refused call wrote anything.
  EXPECT_EQ(db_->query("SELECT COUNT(*) FROM medical.consultations WHERE patient_rut = "
                       "'22222222-2'"),
            "2\n");
}

TEST_F(MedicalService, RetriedPostWithTheSameKeyWritesOnce) {
  const auto first = svc_->post("/consultations", kNewConsultation, "key-1");
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_THAT(first.body, HasSubstr("\"diagnosis\":\"Sinusitis\""));
  const auto again = svc_->post("/consultations", kNewConsultation, "key-1");
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.header("idempotent-replayed"), "true");
  EXPECT_EQ(db_->query("SELECT COUNT(*) FROM medical.consultations WHERE diagnosis = "
                       "'Sinusitis'"),
            "1\n");
  const auto reused = svc_->post("/consultations",
                                 std::string(kNewConsultation).replace(1, 0, R"("x":1,)"), "key-1");
  EXPECT_EQ(reused.status, 422);
  EXPECT_EQ(svc_->post("/consultations", kNewConsultation, "bad key!").status, 400);
  // Without a key, each POST is a new consultation.
  EXPECT_EQ(svc_->post("/consultations", kNewConsultation).status, 201);
  EXPECT_EQ(db_->query("SELECT COUNT(*) FROM medical.consultations WHERE diagnosis = "
                       "'Sinusitis'"),
            "2\n");
}

TEST_F(MedicalService, ConcurrentTwinsWithOneKeyWriteOnceAndReplay) {
  // Double clicks racing on InnoDB: the twin waits on the key's row lock and replays; no
  // deadlock surfaces as a 500.
  for (int round = 0; round < 10; ++round) {
    const std::string key = "twin-" + std::to_string(round);
    const auto answers = concurrent_posts(*svc_, "/consultations", kNewConsultation, key, 4);
    expect_one_write_rest_replayed(answers);
  }
  EXPECT_EQ(db_->query("SELECT COUNT(*) FROM medical.consultations WHERE diagnosis = "
                       "'Sinusitis'"),
            "10\n");
}

TEST_F(MedicalService, MigrationsAndSeedsAreAppliedOnce) {
  svc_->restart();
  EXPECT_EQ(db_->query("SELECT COUNT(*) FROM medical.doctors"), "4\n");
  EXPECT_EQ(db_->query("SELECT GROUP_CONCAT(version ORDER BY version) FROM "
                       "medical.schema_migrations"),
            "1,2,3,4,5\n");
  // The demo history in Spanish, once (005): a restart changes nothing more.
  EXPECT_EQ(db_->query("SELECT diagnosis FROM medical.consultations WHERE id = 3"),
            "Hipertensión arterial controlada\n");
}

TEST_F(MedicalService, AFencedDatabaseRefusesWritesWithA503AndKeepsServingReads) {
  db_->sql("SET GLOBAL read_only = ON");
  const auto w = svc_->post("/consultations", kNewConsultation);
  EXPECT_EQ(w.status, 503) << w.body;
  EXPECT_FALSE(w.header("retry-after").empty());
  EXPECT_EQ(db_->query("SELECT COUNT(*) FROM medical.consultations"), "4\n");
  EXPECT_EQ(svc_->get("/patients/11111111-1/consultations").status, 200);
  // Alive for reads: medgate keeps routing them here.
  const auto health = svc_->get("/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_THAT(health.body, HasSubstr("\"status\":\"degraded\""));
  EXPECT_THAT(health.body, HasSubstr("\"status\":\"read_only\""));
  db_->kill();
  EXPECT_EQ(svc_->get("/health").status, 503);
}

TEST(MedicalServiceLimits, OversizedAndSlowRequestsAreRefusedAndTheServiceGoesOn) {
  MariadbServer db({});
  create_app_database(db, "medical", "medical_app");
  ServiceProcess svc("medical-service",
                     mariadb_service_yaml({db.port()}, "medical", "medical_app") +
                         "threads: 2\n"
                         "limits: { max_header_bytes: 2048, max_body_bytes: 4096, "
                         "header_timeout: 300ms }\n");
  const uint16_t port = static_cast<uint16_t>(std::stoi(svc.url("").substr(17)));
  const std::string big_header = raw_exchange(
      port, "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  EXPECT_THAT(big_header, HasSubstr("431"));
  const std::string big_body = raw_exchange(
      port, "POST /consultations HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n" +
                std::string(10000, '{'));
  EXPECT_THAT(big_body, HasSubstr("413"));
  // Half a request line, then nothing: closed after the header timeout, from several
  // connections at once (each on its own strand; the timer closes the socket).
  std::vector<std::thread> slow;
  std::atomic<int> closed{0};
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 6; ++i)
    slow.emplace_back([&] {
      if (raw_exchange(port, "GET /health HT", 5000).empty())
        ++closed;
    });
  for (auto& t : slow)
    t.join();
  EXPECT_EQ(closed.load(), 6);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_EQ(svc.get("/health").status, 200);
}

TEST_F(MedicalService, StopFinishesTheRequestInFlightThenExits) {
  // Holds the table for a second, so the next read waits in the database.
  ChildProcess lock(db_->sql_command("LOCK TABLES medical.consultations WRITE; SELECT SLEEP(1);"),
                    "/dev/null");
  std::this_thread::sleep_for(200ms);
  clients::CurlResponse in_flight;
  std::thread reader([&] { in_flight = svc_->get("/patients/11111111-1/consultations"); });
  std::this_thread::sleep_for(200ms);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(svc_->stop(10s), 0) << "exit status after SIGTERM";
  reader.join();
  EXPECT_EQ(in_flight.status, 200) << "the request in flight was answered";
  EXPECT_THAT(in_flight.body, HasSubstr("Hipertensión arterial etapa 1"));
  EXPECT_EQ(in_flight.header("connection"), "close");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

// The services serve through the same HTTP core as medgate: TLS on their listener works
// as medgate's does (TLS 1.2+, no plain HTTP on a TLS port, the limits still apply).
TEST(MedicalServiceTls, ServesOverTlsRefusesPlainHttpAndOldVersions) {
  MariadbServer db({});
  create_app_database(db, "medical", "medical_app");
  const std::string dir = make_temp_dir("svc-tls-");
  ASSERT_TRUE(make_certificate(dir, "service"));
  ServiceProcess svc("medical-service",
                     mariadb_service_yaml({db.port()}, "medical", "medical_app") +
                         "limits: { max_header_bytes: 2048 }\n",
                     ServiceTls{dir + "/service.crt", dir + "/service.key"});
  const auto ok = svc.get("/patients/11111111-1/consultations");
  EXPECT_EQ(ok.status, 200) << ok.error << svc.log();
  EXPECT_THAT(ok.body, HasSubstr("Hipertensión arterial etapa 1"));
  const auto old = clients::curl_perform(
      {.url = svc.url("/health"), .ca_file = svc.ca_file(), .tls_max = "1.1"});
  EXPECT_EQ(old.status, 0) << "TLS 1.1 is refused";
  const auto plain =
      clients::curl_perform({.url = "http://127.0.0.1:" + std::to_string(svc.port()) + "/health"});
  EXPECT_EQ(plain.status, 0) << "no plain HTTP on a TLS port";
  const auto big = clients::curl_perform({.url = svc.url("/health"),
                                          .headers = {{"X-Big", std::string(4000, 'a')}},
                                          .ca_file = svc.ca_file()});
  EXPECT_EQ(big.status, 431) << "the header limit holds over TLS too";
  EXPECT_EQ(svc.get("/health").status, 200);
  std::filesystem::remove_all(dir);
}

// SIGTERM while clients keep sending: every request the service accepted is answered, the
// ones after the drain began find the port closed (never a connection reset mid-answer),
// and the service exits within its drain timeout.
TEST(MedicalServiceDrain, UnderLoadEveryAcceptedRequestIsAnswered) {
  MariadbServer db({});
  create_app_database(db, "medical", "medical_app");
  ServiceProcess svc("medical-service",
                     mariadb_service_yaml({db.port()}, "medical", "medical_app") +
                         "limits: { drain_timeout: 5s }\n");
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0}, refused{0}, broken{0};
  std::mutex mu;
  std::string first_broken;
  std::vector<std::thread> clients_;
  for (int c = 0; c < 4; ++c)
    clients_.emplace_back([&] {
      // Bounded: at most 2000 requests per client, and the test stops them.
      for (int i = 0; i < 2000 && !stop.load(); ++i) {
        const auto r = svc.get("/patients/11111111-1/consultations");
        if (r.status == 200) {
          ++answered;
        } else if (r.status == 0 && r.error.find("onnect") != std::string::npos) {
          ++refused;  // the listener is closed: nothing was sent
        } else {
          ++broken;
          std::lock_guard lock(mu);
          if (first_broken.empty())
            first_broken = std::to_string(r.status) + " " + r.error + " " + r.body;
        }
      }
    });
  while (answered.load() < 40)
    std::this_thread::sleep_for(5ms);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(svc.stop(10s), 0) << "exit status after SIGTERM";
  const auto took = std::chrono::steady_clock::now() - t0;
  stop = true;
  for (auto& t : clients_)
    t.join();
  EXPECT_EQ(broken.load(), 0) << first_broken;
  EXPECT_GT(answered.load(), 40);
  EXPECT_LT(took, 5s) << "the drain ended with the requests, not at its timeout";
}

TEST(MedicalServiceFailover, WritesResumeOnThePromotedReplicaWithoutRestart) {
  MariadbServer a({.server_id = 1});
  MariadbServer b({.server_id = 2, .read_only = true});
  a.sql(
      "CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY 'repl';"
      "GRANT REPLICATION SLAVE, REPLICATION SLAVE ADMIN, BINLOG MONITOR ON *.* TO "
      "'repl'@'127.0.0.1';");
  b.sql("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=" + std::to_string(a.port()) +
        ", MASTER_USER='repl', MASTER_PASSWORD='repl', MASTER_USE_GTID=slave_pos, "
        "MASTER_CONNECT_RETRY=1; START SLAVE;");
  create_app_database(a, "medical", "medical_app");  // replicated to b
  ServiceProcess svc("medical-service",
                     mariadb_service_yaml({a.port(), b.port()}, "medical", "medical_app", "10s"));
  ASSERT_EQ(svc.post("/consultations", kNewConsultation, "before").status, 201) << svc.log();
  // b has everything a acknowledged, then a dies and b is promoted.
  const std::string pos = a.query("SELECT @@gtid_binlog_pos");
  EXPECT_EQ(b.query("SELECT MASTER_GTID_WAIT('" + pos.substr(0, pos.size() - 1) + "', 10)"), "0\n");
  a.kill();
  b.sql("STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = OFF;");
  const auto after =
      svc.post("/consultations", std::string(kNewConsultation).replace(1, 0, R"("x":2,)"), "after");
  EXPECT_EQ(after.status, 201) << after.body << "\n" << svc.log();
  const auto history = svc.get("/patients/11111111-1/consultations");
  EXPECT_EQ(history.status, 200);
  EXPECT_EQ(b.query("SELECT COUNT(*) FROM medical.consultations WHERE diagnosis = 'Sinusitis'"),
            "2\n");
  EXPECT_THAT(svc.get("/health").body,
              HasSubstr("\"primary\":\"127.0.0.1:" + std::to_string(b.port()) + "\""));
}

}  // namespace
}  // namespace medgate::testing
