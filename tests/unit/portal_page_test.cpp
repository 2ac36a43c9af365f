// The patient's page as a patient reads it: Spanish names instead of the services' codes,
// es-CL dates, upcoming and past appointments apart, the doctors shown.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "apps/patient-portal/catalogue.hpp"
#include "apps/patient-portal/pages.hpp"

namespace medgate::service {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

GatewayAnswer ok(std::string_view body) {
  GatewayAnswer a;
  a.kind = GatewayAnswer::Kind::ok;
  a.body = boost::json::parse(body);
  return a;
}

// The text a browser shows: everything outside tags (attribute values, such as the codes in
// <option value="cardiology">, are not shown).
std::string visible_text(const std::string& html) {
  std::string out;
  bool in_tag = false;
  for (const char c : html) {
    if (c == '<')
      in_tag = true;
    else if (c == '>') {
      in_tag = false;
      out += ' ';
    } else if (!in_tag)
      out += c;
  }
  return out;
}

PatientPage seeded_page() {
  PatientPage p;
  p.rut = "11111111-1";
  p.csrf_token = "t";
  p.patient = ok(R"({"name":"Ana Pérez","insurance":"FONASA"})");
  p.history = ok(R"({"consultations":[{"date":"2026-06-22","doctor":"Dra. Camila Soto",
      "specialty":"cardiology","diagnosis":"Hipertensión arterial etapa 1",
      "treatment":"Losartán 50 mg al día"}]})");
  p.payments = ok(R"({"payments":[{"date":"2026-07-01","concept":"Consulta cardiología",
      "amount":25000,"status":"paid"},{"date":"2026-07-02","concept":"Devolución",
      "amount":1000,"status":"refunded"}],
      "pending_invoices":[{"id":2,"due":"2026-10-28","amount":18000}],"total_debt":18000})");
  p.doctors = ok(R"({"doctors":[
      {"id":1,"name":"Dra. Camila Soto","specialty":"cardiology","available":true},
      {"id":2,"name":"Dr. Matías Rojas","specialty":"general","available":false},
      {"id":3,"name":"Dra. Valentina Muñoz","specialty":"pediatrics","available":true},
      {"id":4,"name":"Dr. Benjamín Díaz","specialty":"dermatology","available":false}]})");
  p.appointments.columns = {"id", "specialty", "starts_at", "reason", "status", "upcoming"};
  p.appointments.rows = {
      {"9", "dermatology", "2099-05-04 10:30", "Control", "booked", "1"},
      {"8", "cardiology", "2099-01-02 09:00", std::nullopt, "cancelled", "1"},
      {"7", "general", "2025-03-10 15:00", std::nullopt, "booked", "0"},
  };
  return p;
}

TEST(PortalPage, NoCodeOfTheCatalogueIsShownOnlyItsName) {
  std::string text = visible_text(render_patient(seeded_page()));
  for (const char* code :
       {"cardiology", "general", "pediatrics", "dermatology", "paid", "refunded"})
    EXPECT_THAT(text, HasSubstr(display_name(code))) << code;
  // With every name taken out ("Medicina general" holds a code), no code is left.
  for (const auto& [code, name] : catalogue())
    for (size_t at; (at = text.find(name)) != std::string::npos;)
      text.erase(at, name.size());
  for (const auto& [code, name] : catalogue())
    EXPECT_THAT(text, Not(HasSubstr(std::string(code)))) << "the code itself is shown";
}

TEST(PortalPage, DatesAreWrittenAsInChileAndAmountsInPesos) {
  const std::string text = visible_text(render_patient(seeded_page()));
  EXPECT_THAT(text, HasSubstr("22-06-2026"));
  EXPECT_THAT(text, HasSubstr("vence el 28-10-2026"));
  EXPECT_THAT(text, HasSubstr("04-05-2099 10:30"));
  EXPECT_THAT(text, HasSubstr("$25.000"));
  EXPECT_THAT(text, Not(HasSubstr("2026-06-22")));
}

TEST(PortalPage, UpcomingAndPastAppointmentsApartOnlyUpcomingOnesCancellable) {
  const std::string html = render_patient(seeded_page());
  const size_t upcoming = html.find("id=\"upcoming\"");
  const size_t past = html.find("id=\"past\"");
  ASSERT_NE(upcoming, std::string::npos);
  ASSERT_NE(past, std::string::npos);
  // Soonest first among the upcoming; the past one after them.
  EXPECT_LT(html.find("02-01-2099 09:00"), html.find("04-05-2099 10:30"));
  EXPECT_GT(html.find("10-03-2025 15:00"), past);
  EXPECT_THAT(html, HasSubstr("data-cancel=\"9\""));
  EXPECT_THAT(html, Not(HasSubstr("data-cancel=\"8\"")));  // already cancelled
  EXPECT_THAT(html, Not(HasSubstr("data-cancel=\"7\"")));  // in the past
}

TEST(PortalPage, TheDoctorsAreShownWithWhetherTheyHaveFreeHours) {
  const std::string text = visible_text(render_patient(seeded_page()));
  EXPECT_THAT(text, HasSubstr("Dra. Valentina Muñoz · Pediatría · con horas disponibles"));
  EXPECT_THAT(text, HasSubstr("Dr. Matías Rojas · Medicina general · sin horas disponibles"));
}

TEST(PortalCatalogue, EsClDatesLeaveAnythingElseAlone) {
  EXPECT_EQ(es_cl_date("2026-03-10"), "10-03-2026");
  EXPECT_EQ(es_cl_date("2026-03-10 09:05"), "10-03-2026 09:05");
  for (const char* other : {"", "2026-3-10", "2026-03-10T09:05", "abcd-ef-gh", "2026-03-10 9:05"})
    EXPECT_EQ(es_cl_date(other), other);
  EXPECT_EQ(display_name("cardiology"), "Cardiología");
  EXPECT_EQ(display_name("Cardiología"), "Cardiología");  // a name, as some bookings hold
}

}  // namespace
}  // namespace medgate::service
