#include "apps/patient-portal/pages.hpp"

#include <algorithm>

#include <boost/json/object.hpp>

#include "apps/patient-portal/catalogue.hpp"
#include "text/html.hpp"

namespace medgate::service {

namespace json = boost::json;
using Kind = GatewayAnswer::Kind;
using text::html_escape;

namespace {

// Styles and script come from files under /static: the page's CSP allows nothing inline.
std::string page(std::string_view title, const std::string& body, std::string_view csrf = {}) {
  std::string out =
      "<!doctype html>\n<html lang=\"es\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">";
  if (!csrf.empty())
    out += "<meta name=\"csrf-token\" content=\"" + html_escape(csrf) + "\">";
  out += "<title>";
  out += html_escape(title);
  out += "</title><link rel=\"stylesheet\" href=\"/static/portal.css\"></head><body>\n";
  out += body;
  out += "\n</body></html>\n";
  return out;
}

std::string text(const json::value& v) {
  if (v.is_string())
    return html_escape(v.as_string());
  if (v.is_int64())
    return std::to_string(v.as_int64());
  if (v.is_uint64())
    return std::to_string(v.as_uint64());
  if (v.is_double())
    return std::to_string(static_cast<long long>(v.as_double()));
  if (v.is_bool())
    return v.as_bool() ? "sí" : "no";
  return "—";
}

const json::value& field(const json::value& obj, std::string_view key) {
  static const json::value kNull;
  if (!obj.is_object())
    return kNull;
  const auto* v = obj.as_object().if_contains(key);
  return v ? *v : kNull;
}

const json::array* list(const json::value& obj, std::string_view key) {
  const auto& v = field(obj, key);
  return v.is_array() ? &v.as_array() : nullptr;
}

std::string pesos(const json::value& v) {
  long long n = 0;
  if (v.is_int64())
    n = v.as_int64();
  else if (v.is_double())
    n = static_cast<long long>(v.as_double());
  else
    return "—";
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0)
      out += '.';
    out += digits[i];
  }
  return (n < 0 ? "-$" : "$") + out;
}

// A code from a service, by its name in the catalogue (catalogue.hpp).
std::string named(const json::value& v) {
  return v.is_string() ? html_escape(display_name(v.as_string())) : text(v);
}

std::string date_text(const json::value& v) {
  return v.is_string() ? html_escape(es_cl_date(v.as_string())) : text(v);
}

// The banner for a section whose data is missing or old; empty when all is well.
std::string banner(const GatewayAnswer& a, std::string_view what) {
  if (a.kind == Kind::stale)
    return "<div class=\"banner stale\" role=\"status\" data-banner=\"stale\">Mostrando " +
           std::string(what) + " guardado hace " + std::to_string(a.stale_age_seconds) +
           " s: el servicio no responde en este momento.</div>";
  if (a.kind == Kind::unavailable) {
    std::string s = "<div class=\"banner degraded\" role=\"alert\" data-banner=\"degraded\">" +
                    std::string(what) + " no disponible en este momento";
    if (!a.upstream.empty())
      s += " (servicio " + html_escape(a.upstream) + ": " + html_escape(a.reason) + ")";
    else if (!a.reason.empty())
      s += " (" + html_escape(a.reason) + ")";
    s += ".";
    if (a.retry_after_seconds > 0)
      s += " Intente de nuevo en " + std::to_string(a.retry_after_seconds) + " s.";
    return s + "</div>";
  }
  return {};
}

bool has_data(const GatewayAnswer& a) {
  return a.kind == Kind::ok || a.kind == Kind::stale;
}

}  // namespace

// The bar at the top of every page: who runs the portal, and (signed in) the way out.
std::string site_header(std::string_view signout_csrf = {}) {
  std::string h =
      "<header class=\"site\"><div class=\"wrap\"><span class=\"brand\">Hospital · "
      "<strong>Portal de pacientes</strong></span>";
  if (!signout_csrf.empty())
    h += "<form class=\"signout\" action=\"/logout\" method=\"post\"><input type=\"hidden\" "
         "name=\"csrf\" value=\"" +
         html_escape(signout_csrf) + "\"><button type=\"submit\">Salir</button></form>";
  return h + "</div></header>";
}

std::string render_sign_in(std::string_view error, std::string_view rut_typed) {
  std::string body = site_header() +
                     "<main class=\"wrap narrow\"><h1>Ingrese a su portal</h1><p class=\"lead\">"
                     "Vea su historial médico, sus pagos y facturas pendientes, y reserve o anule "
                     "sus horas con nuestros médicos.</p>";
  if (!error.empty())
    body += "<div class=\"banner degraded\" role=\"alert\">" + html_escape(error) + "</div>";
  body +=
      "<form action=\"/login\" method=\"post\" class=\"card\"><label for=\"rut\">RUT</label>"
      "<p class=\"hint\" id=\"rut-hint\">Con guion y dígito verificador, por ejemplo "
      "12345678-5.</p><input id=\"rut\" name=\"rut\" required autocomplete=\"username\" "
      "aria-describedby=\"rut-hint\" maxlength=\"16\" inputmode=\"text\" value=\"" +
      html_escape(rut_typed) +
      "\"><label for=\"password\">Contraseña</label><input id=\"password\" name=\"password\" "
      "type=\"password\" required autocomplete=\"current-password\" maxlength=\"256\">"
      "<button type=\"submit\" class=\"primary\">Ingresar</button></form></main>";
  return page("Portal de pacientes", body);
}

std::string render_patient(const PatientPage& p) {
  std::string body = site_header(p.csrf_token) + "<main class=\"wrap\"><h1>Mi portal</h1>";
  const bool degraded = !has_data(p.history) || !has_data(p.payments) ||
                        p.history.kind == Kind::stale || p.payments.kind == Kind::stale ||
                        !p.appointments_ok || p.patient.kind == Kind::unavailable;
  if (degraded)
    body +=
        "<div id=\"degraded-banner\" class=\"banner degraded\" role=\"alert\">Parte de su "
        "información no está disponible o no está al día en este momento. Mostramos lo "
        "que tenemos.</div>";

  body +=
      "<section class=\"card\" id=\"patient\"><h2>Paciente</h2>" + banner(p.patient, "Sus datos");
  if (has_data(p.patient))
    body += "<p><strong>" + text(field(p.patient.body, "name")) + "</strong> · RUT " +
            html_escape(p.rut) + " · Previsión: " + text(field(p.patient.body, "insurance")) +
            "</p>";
  else if (p.patient.kind == Kind::not_found)
    body += "<p>No encontramos datos administrativos para el RUT " + html_escape(p.rut) + ".</p>";
  body += "</section>";

  body += "<section class=\"card\" id=\"history\"><h2>Historial médico</h2>" +
          banner(p.history, "Historial médico");
  if (has_data(p.history)) {
    const auto* items = list(p.history.body, "consultations");
    if (!items || items->empty()) {
      body += "<p>Sin consultas registradas.</p>";
    } else {
      body +=
          "<table><thead><tr><th scope=\"col\">Fecha</th><th scope=\"col\">Médico</th>"
          "<th scope=\"col\">Especialidad</th><th scope=\"col\">Diagnóstico</th>"
          "<th scope=\"col\">Tratamiento</th></tr></thead><tbody>";
      for (const auto& c : *items)
        body += "<tr><td data-label=\"Fecha\">" + date_text(field(c, "date")) +
                "</td><td data-label=\"Médico\">" + text(field(c, "doctor")) +
                "</td><td data-label=\"Especialidad\">" + named(field(c, "specialty")) +
                "</td><td data-label=\"Diagnóstico\">" + text(field(c, "diagnosis")) +
                "</td><td data-label=\"Tratamiento\">" + text(field(c, "treatment")) + "</td></tr>";
      body += "</tbody></table>";
    }
  }
  body += "</section>";

  body += "<section class=\"card\" id=\"payments\"><h2>Pagos</h2>" + banner(p.payments, "Pagos");
  if (has_data(p.payments)) {
    const auto* pays = list(p.payments.body, "payments");
    if (pays && !pays->empty()) {
      body +=
          "<table><thead><tr><th scope=\"col\">Fecha</th><th scope=\"col\">Concepto</th>"
          "<th scope=\"col\">Monto</th><th scope=\"col\">Estado</th></tr></thead><tbody>";
      for (const auto& x : *pays)
        body += "<tr><td data-label=\"Fecha\">" + date_text(field(x, "date")) +
                "</td><td data-label=\"Concepto\">" + text(field(x, "concept")) +
                "</td><td data-label=\"Monto\">" + pesos(field(x, "amount")) +
                "</td><td data-label=\"Estado\">" + named(field(x, "status")) + "</td></tr>";
      body += "</tbody></table>";
    } else {
      body += "<p>Sin pagos registrados.</p>";
    }
    const auto* pending = list(p.payments.body, "pending_invoices");
    if (pending) {
      body += "<h3>Facturas pendientes</h3>";
      if (pending->empty())
        body += "<p>No tiene facturas pendientes.</p>";
      for (const auto& inv : *pending)
        body += "<p>Factura " + text(field(inv, "id")) + ": " + pesos(field(inv, "amount")) +
                ", vence el " + date_text(field(inv, "due")) + "</p>";
      body += "<p id=\"total-debt\"><strong>Deuda total: " +
              pesos(field(p.payments.body, "total_debt")) + "</strong></p>";
    } else {
      body +=
          "<div class=\"banner degraded\" role=\"alert\">Facturas no disponibles en este "
          "momento.</div>";
    }
  }
  body += "</section>";

  body += "<section class=\"card\" id=\"appointments\"><h2>Mis horas</h2>";
  if (!p.appointments_ok) {
    body +=
        "<div class=\"banner degraded\" role=\"alert\">Sus horas no están disponibles en "
        "este momento.</div>";
  } else {
    // Upcoming first, soonest first; then the past, latest first (the query's order).
    const auto& r = p.appointments;
    auto item = [&](size_t i) {
      const std::string id = html_escape(r.at(i, "id").value_or(""));
      const bool cancelled = r.at(i, "status").value_or("") == "cancelled";
      std::string li = "<li data-appointment=\"" + id + "\">" +
                       html_escape(es_cl_date(r.at(i, "starts_at").value_or(""))) + " · " +
                       html_escape(display_name(r.at(i, "specialty").value_or("")));
      if (const auto reason = r.at(i, "reason"))
        li += " · " + html_escape(*reason);
      if (cancelled)
        li += " · <em>anulada</em>";
      else if (r.at(i, "upcoming").value_or("0") == "1")
        li += " <button type=\"button\" data-cancel=\"" + id + "\">Anular</button>";
      return li + "</li>";
    };
    std::vector<size_t> upcoming, past;
    for (size_t i = 0; i < r.rows.size(); ++i)
      (r.at(i, "upcoming").value_or("0") == "1" ? upcoming : past).push_back(i);
    std::reverse(upcoming.begin(), upcoming.end());
    body += "<h3>Próximas horas</h3>";
    if (upcoming.empty())
      body += "<p>No tiene horas próximas.</p>";
    else {
      body += "<ul id=\"upcoming\">";
      for (size_t i : upcoming)
        body += item(i);
      body += "</ul>";
    }
    if (!past.empty()) {
      body += "<h3>Horas pasadas</h3><ul id=\"past\">";
      for (size_t i : past)
        body += item(i);
      body += "</ul>";
    }
  }
  // The doctors medgate listed, by specialty, and whether they have free hours.
  if (const auto* doctors = has_data(p.doctors) ? list(p.doctors.body, "doctors") : nullptr;
      doctors && !doctors->empty()) {
    body += "<h3>Nuestros médicos</h3><ul id=\"doctors\">";
    for (const auto& d : *doctors) {
      const auto& available = field(d, "available");
      const bool free_hours = available.is_bool() && available.as_bool();
      body += "<li>" + text(field(d, "name")) + " · " + named(field(d, "specialty")) + " · " +
              (free_hours ? "con horas disponibles" : "sin horas disponibles");
      if (free_hours && field(d, "id").is_int64())
        body += " <a href=\"/book/" + std::to_string(field(d, "id").as_int64()) +
                "\">Ver horas libres<span class=\"visually-hidden\"> de " + text(field(d, "name")) +
                "</span></a>";
      body += "</li>";
    }
    body += "</ul>";
  } else if (!has_data(p.doctors)) {
    body += banner(p.doctors, "La lista de médicos");
  }
  body +=
      "<h3>Reservar una hora</h3><form id=\"book\">"
      "<label for=\"specialty\">Especialidad</label><select id=\"specialty\" "
      "name=\"specialty\" required>";
  const auto* docs = has_data(p.doctors) ? list(p.doctors.body, "doctors") : nullptr;
  std::vector<std::string> seen;
  if (docs) {
    for (const auto& d : *docs) {
      const std::string s = text(field(d, "specialty"));
      if (std::find(seen.begin(), seen.end(), s) != seen.end())
        continue;
      seen.push_back(s);
      body += "<option value=\"" + s + "\">" + named(field(d, "specialty")) + "</option>";
    }
  }
  if (seen.empty())
    body += "<option value=\"general\">" + html_escape(display_name("general")) + "</option>";
  body +=
      "</select><label for=\"starts_at\">Fecha y hora</label><input id=\"starts_at\" "
      "name=\"starts_at\" type=\"datetime-local\" required><label for=\"reason\">Motivo "
      "(opcional)</label><input id=\"reason\" name=\"reason\" maxlength=\"300\">"
      "<button type=\"submit\">Reservar</button><p id=\"book-result\" role=\"status\"></p>"
      "</form></section></main>";
  body += "<script src=\"/static/portal.js\"></script>";
  return page("Portal de pacientes · " + p.rut, body, p.csrf_token);
}

std::string render_booking(const BookingPage& p) {
  std::string body = site_header(p.csrf_token) +
                     "<main class=\"wrap\"><p><a href=\"/patient\">← Volver a mi portal</a></p>";
  const json::value* doctor = nullptr;
  if (const auto* docs = has_data(p.doctors) ? list(p.doctors.body, "doctors") : nullptr)
    for (const auto& d : *docs)
      if (field(d, "id").is_int64() && field(d, "id").as_int64() == p.doctor_id)
        doctor = &d;
  if (doctor)
    body += "<h1>Reservar con " + text(field(*doctor, "name")) + "</h1><p class=\"lead\">" +
            named(field(*doctor, "specialty")) + "</p>";
  else
    body += "<h1>Reservar una hora</h1>" + banner(p.doctors, "La lista de médicos");
  body += "<section class=\"card\" id=\"slots\"><h2>Horas libres</h2>";
  if (!has_data(p.availability)) {
    body += p.availability.kind == Kind::not_found
                ? "<p>No encontramos a este médico.</p>"
                : banner(p.availability, "Las horas de este médico");
  } else if (!p.taken_known) {
    body +=
        "<div class=\"banner degraded\" role=\"alert\">No podemos confirmar qué horas siguen "
        "libres en este momento. Intente de nuevo en unos segundos.</div>";
  } else {
    body += banner(p.availability, "Las horas de este médico");  // stale: said so
    std::string items;
    if (const auto* slots = list(p.availability.body, "slots"))
      for (const auto& slot : *slots) {
        const auto& id = field(slot, "id");
        const auto& booked = field(slot, "booked");
        if (!id.is_int64() || (booked.is_bool() && booked.as_bool()) ||
            std::find(p.taken.begin(), p.taken.end(), id.as_int64()) != p.taken.end())
          continue;
        const std::string sid = std::to_string(id.as_int64());
        items += "<li>" + date_text(field(slot, "starts_at")) +
                 " <button type=\"button\" data-slot=\"" + sid + "\" data-doctor=\"" +
                 std::to_string(p.doctor_id) + "\">Reservar<span class=\"visually-hidden\"> " +
                 date_text(field(slot, "starts_at")) + "</span></button></li>";
      }
    body += items.empty() ? "<p>Este médico no tiene horas libres por ahora.</p>"
                          : "<ul id=\"free-slots\">" + items + "</ul>";
  }
  body += "<p id=\"book-result\" role=\"status\"></p></section></main>";
  body += "<script src=\"/static/portal.js\"></script>";
  return page("Reservar una hora · Portal de pacientes", body, p.csrf_token);
}

}  // namespace medgate::service
