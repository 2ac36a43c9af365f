// What the portal shows a patient instead of the services' codes, in Chilean Spanish: the
// APIs keep their codes ("cardiology", "paid"); the page shows names ("Cardiología",
// "Pagado") and dates as es-CL writes them.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace medgate::service {

// Every code the page may receive, with its name: specialties, payment and appointment
// states. A code not listed here is shown as it came.
[[nodiscard]] const std::vector<std::pair<std::string_view, std::string_view>>& catalogue();

// The name of `code`, or `code` itself when the catalogue has none.
[[nodiscard]] std::string display_name(std::string_view code);

// "2026-03-10" -> "10-03-2026"; "2026-03-10 09:30" -> "10-03-2026 09:30"; anything else
// unchanged.
[[nodiscard]] std::string es_cl_date(std::string_view iso);

}  // namespace medgate::service
