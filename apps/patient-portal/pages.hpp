// Server-rendered HTML for the portal: the sign-in form and a signed-in patient's page.
// Everything from outside is escaped; every section says plainly when its data is missing or
// stale. No inline script or style (the CSP forbids them): /static/portal.{js,css}.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "apps/patient-portal/gateway_client.hpp"
#include "clients/db/db.hpp"

namespace medgate::service {

[[nodiscard]] std::string render_sign_in(std::string_view error, std::string_view rut_typed);

struct PatientPage {
  std::string rut;
  std::string csrf_token;  // the session's, for the page's forms and script
  GatewayAnswer patient;
  GatewayAnswer history;
  GatewayAnswer payments;
  GatewayAnswer doctors;
  db::SqlResult appointments;  // id, specialty, starts_at, reason, status
  bool appointments_ok = true;
};

[[nodiscard]] std::string render_patient(const PatientPage& page);

// A doctor's free slots, each booked with one click.
struct BookingPage {
  std::string csrf_token;
  int64_t doctor_id = 0;
  GatewayAnswer doctors;       // GET /api/doctors: the doctor's name and specialty
  GatewayAnswer availability;  // GET /api/medical/doctors/{id}/availability
  std::vector<int64_t> taken;  // slots the portal's appointments hold
  bool taken_known = true;     // false: the portal's database did not answer
};

[[nodiscard]] std::string render_booking(const BookingPage& page);

}  // namespace medgate::service
