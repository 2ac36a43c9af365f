#include "apps/patient-portal/catalogue.hpp"

#include <cctype>

namespace medgate::service {

const std::vector<std::pair<std::string_view, std::string_view>>& catalogue() {
  static const std::vector<std::pair<std::string_view, std::string_view>> kNames = {
      // The medical service's specialties.
      {"cardiology", "Cardiología"},
      {"general", "Medicina general"},
      {"pediatrics", "Pediatría"},
      {"dermatology", "Dermatología"},
      // Payments and invoices.
      {"paid", "Pagado"},
      {"pending", "Pendiente"},
      {"refunded", "Reembolsado"},
      // Appointments.
      {"booked", "Reservada"},
      {"cancelled", "Anulada"},
  };
  return kNames;
}

std::string display_name(std::string_view code) {
  for (const auto& [c, name] : catalogue())
    if (c == code)
      return std::string(name);
  return std::string(code);
}

std::string es_cl_date(std::string_view iso) {
  auto digits = [&](size_t from, size_t n) {
    for (size_t i = from; i < from + n; ++i)
      if (!std::isdigit(static_cast<unsigned char>(iso[i])))
        return false;
    return true;
  };
  const bool date = iso.size() >= 10 && digits(0, 4) && iso[4] == '-' && digits(5, 2) &&
                    iso[7] == '-' && digits(8, 2);
  const bool rest_ok = iso.size() == 10 || (iso.size() == 16 && iso[10] == ' ' && digits(11, 2) &&
                                            iso[13] == ':' && digits(14, 2));
  if (!date || !rest_ok)
    return std::string(iso);
  std::string out;
  out.reserve(iso.size());
  out.append(iso.substr(8, 2)).append("-").append(iso.substr(5, 2)).append("-");
  out.append(iso.substr(0, 4)).append(iso.substr(10));
  return out;
}

}  // namespace medgate::service
