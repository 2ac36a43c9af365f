#include "apps/patient-portal/pages.hpp"

#include <algorithm>

#include <boost/json/object.hpp>

namespace medgate::service {

namespace json = boost::json;
using Kind = GatewayAnswer::Kind;

namespace {

constexpr std::string_view kStyle = R"(
body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1b1b1b}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem;border-bottom:1px solid #ccc}
.banner{padding:.75rem 1rem;border-radius:.3rem;margin:.75rem 0;font-weight:600}
.degraded{background:#fde2e1;border:2px solid #b3261e}.stale{background:#fff4d6;border:2px solid #8a6100}
label{display:block;margin-top:.5rem}input,select,button{font-size:1rem;padding:.35rem}
button{margin-top:.75rem;cursor:pointer}.muted{color:#555})";

std::string page(std::string_view title, const std::string& body) {
  std::string out =
      "<!doctype html>\n<html lang=\"es\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
      "<title>";
  out += html_escape(title);
  out += "</title><style>";
  out += kStyle;
  out += "</style></head><body>\n";
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

std::string status_text(const json::value& v) {
  if (v.is_string() && v.as_string() == "paid")
    return "pagado";
  if (v.is_string() && v.as_string() == "refunded")
    return "reembolsado";
  return text(v);
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

constexpr std::string_view kScript = R"(<script>
// One key per booking, not per click: a retry or a second click with the same details
// reuses it, so the service replays instead of booking twice. The key is kept (also across
// a reload) until the answer is definitive; changing the details starts a new booking.
// randomUUID exists only in secure contexts (https, localhost): fall back elsewhere.
function newKey() {
  return self.crypto && crypto.randomUUID ? crypto.randomUUID()
    : Date.now().toString(36) + '-' + Math.random().toString(36).slice(2);
}
const PENDING = 'medgate-pending-booking';
function keyFor(details) {
  const fp = JSON.stringify(details);
  let p = null;
  try { p = JSON.parse(sessionStorage.getItem(PENDING)); } catch (e) {}
  if (!p || p.fp !== fp) {
    p = {fp, key: newKey()};
    try { sessionStorage.setItem(PENDING, JSON.stringify(p)); } catch (e) {}
  }
  return p.key;
}
function settled() { try { sessionStorage.removeItem(PENDING); } catch (e) {} }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Sends until the answer is definitive (below 500), with the same key each time; after
// `tries` it reports {unknown: true}: whether the write happened is then not known.
async function sendUntilKnown(method, url, body, key, onTry, tries = 4) {
  const headers = {'Content-Type': 'application/json'};
  if (key) headers['Idempotency-Key'] = key;
  for (let attempt = 1; attempt <= tries; ++attempt) {
    onTry(attempt);
    let r = null;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), 10000);
    try {
      r = await fetch(url, {method, headers, signal: ctl.signal,
        body: body ? JSON.stringify(body) : undefined});
    } catch (e) { r = null; }  // no answer: unknown, like a 5xx
    clearTimeout(timer);
    if (r && r.status < 500)
      return {status: r.status, ok: r.ok, data: await r.json().catch(() => ({}))};
    const after = r ? Number(r.headers.get('Retry-After')) : NaN;
    if (attempt < tries) await sleep(1000 * Math.min(5, after > 0 ? after : attempt));
  }
  return {unknown: true};
}
const form = document.getElementById('book');
if (form) form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const msg = document.getElementById('book-result');
  const button = form.querySelector('button[type=submit]');
  const f = new FormData(form);
  const details = {rut: f.get('rut'), specialty: f.get('specialty'),
    starts_at: f.get('starts_at'), reason: f.get('reason') || undefined};
  button.disabled = true;
  const res = await sendUntilKnown('POST', '/api/appointments', details, keyFor(details),
    (n) => { msg.textContent = n === 1 ? 'Reservando…' : 'Reservando… (intento ' + n + ')'; });
  button.disabled = false;
  if (res.unknown) {
    msg.textContent = 'Aún no sabemos si la hora quedó reservada. Pulse «Reservar» de nuevo ' +
      'para confirmarlo: no se reservará dos veces.';
    return;
  }
  settled();
  if (res.ok) { msg.textContent = 'Hora reservada.'; location.reload(); return; }
  msg.textContent = 'No se pudo reservar: ' + (res.data.message || ('error ' + res.status));
});
document.querySelectorAll('button[data-cancel]').forEach((b) => b.addEventListener('click',
  async () => {
    b.disabled = true;
    // Cancelling twice is a no-op, so retrying is safe without a key.
    const res = await sendUntilKnown('DELETE', '/api/appointments/' + b.dataset.cancel +
      '?rut=' + encodeURIComponent(b.dataset.rut), undefined, null, () => {});
    b.disabled = false;
    if (res.ok) { location.reload(); return; }
    b.textContent = res.unknown ? 'Sin respuesta: pulse de nuevo'
      : 'Error: ' + (res.data.message || res.status);
  }));
</script>)";

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_sign_in(std::string_view error, std::string_view rut_typed) {
  std::string body = "<main><h1>Portal de pacientes</h1>";
  if (!error.empty())
    body += "<div class=\"banner degraded\" role=\"alert\">" + html_escape(error) + "</div>";
  body +=
      "<form action=\"/patient\" method=\"get\"><label for=\"rut\">RUT</label>"
      "<input id=\"rut\" name=\"rut\" required autocomplete=\"username\" "
      "placeholder=\"11111111-1\" value=\"" +
      html_escape(rut_typed) +
      "\"><button type=\"submit\">Ingresar</button></form>"
      "<p class=\"muted\">Demostración: el RUT identifica al paciente; no es una "
      "autenticación.</p></main>";
  return page("Portal de pacientes", body);
}

std::string render_patient(const PatientPage& p) {
  std::string body = "<main><h1>Portal de pacientes</h1>";
  const bool degraded = !has_data(p.history) || !has_data(p.payments) ||
                        p.history.kind == Kind::stale || p.payments.kind == Kind::stale ||
                        !p.appointments_ok || p.patient.kind == Kind::unavailable;
  if (degraded)
    body +=
        "<div id=\"degraded-banner\" class=\"banner degraded\" role=\"alert\">Parte de su "
        "información no está disponible o no está al día en este momento. Mostramos lo "
        "que tenemos.</div>";

  body += "<section id=\"patient\"><h2>Paciente</h2>" + banner(p.patient, "Sus datos");
  if (has_data(p.patient))
    body += "<p><strong>" + text(field(p.patient.body, "name")) + "</strong> · RUT " +
            html_escape(p.rut) + " · Previsión: " + text(field(p.patient.body, "insurance")) +
            "</p>";
  else if (p.patient.kind == Kind::not_found)
    body += "<p>No encontramos datos administrativos para el RUT " + html_escape(p.rut) + ".</p>";
  body += "<p><a href=\"/\">Salir</a></p></section>";

  body +=
      "<section id=\"history\"><h2>Historial médico</h2>" + banner(p.history, "Historial médico");
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
        body += "<tr><td>" + text(field(c, "date")) + "</td><td>" + text(field(c, "doctor")) +
                "</td><td>" + text(field(c, "specialty")) + "</td><td>" +
                text(field(c, "diagnosis")) + "</td><td>" + text(field(c, "treatment")) +
                "</td></tr>";
      body += "</tbody></table>";
    }
  }
  body += "</section>";

  body += "<section id=\"payments\"><h2>Pagos</h2>" + banner(p.payments, "Pagos");
  if (has_data(p.payments)) {
    const auto* pays = list(p.payments.body, "payments");
    if (pays && !pays->empty()) {
      body +=
          "<table><thead><tr><th scope=\"col\">Fecha</th><th scope=\"col\">Concepto</th>"
          "<th scope=\"col\">Monto</th><th scope=\"col\">Estado</th></tr></thead><tbody>";
      for (const auto& x : *pays)
        body += "<tr><td>" + text(field(x, "date")) + "</td><td>" + text(field(x, "concept")) +
                "</td><td>" + pesos(field(x, "amount")) + "</td><td>" +
                status_text(field(x, "status")) + "</td></tr>";
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
                ", vence " + text(field(inv, "due")) + "</p>";
      body += "<p id=\"total-debt\"><strong>Deuda total: " +
              pesos(field(p.payments.body, "total_debt")) + "</strong></p>";
    } else {
      body +=
          "<div class=\"banner degraded\" role=\"alert\">Facturas no disponibles en este "
          "momento.</div>";
    }
  }
  body += "</section>";

  body += "<section id=\"appointments\"><h2>Mis horas</h2>";
  if (!p.appointments_ok) {
    body +=
        "<div class=\"banner degraded\" role=\"alert\">Sus horas no están disponibles en "
        "este momento.</div>";
  } else if (p.appointments.rows.empty()) {
    body += "<p>No tiene horas reservadas.</p>";
  } else {
    body += "<ul>";
    for (size_t i = 0; i < p.appointments.rows.size(); ++i) {
      const auto& r = p.appointments;
      const std::string status = r.at(i, "status").value_or("");
      body +=
          "<li data-appointment=\"" + html_escape(r.at(i, "id").value_or("")) + "\">" +
          html_escape(r.at(i, "starts_at").value_or("")) + " · " +
          html_escape(r.at(i, "specialty").value_or("")) +
          (r.at(i, "reason") ? " · " + html_escape(*r.at(i, "reason")) : "") +
          (status == "cancelled" ? " · <em>anulada</em>"
                                 : " <button type=\"button\" data-cancel=\"" +
                                       html_escape(r.at(i, "id").value_or("")) + "\" data-rut=\"" +
                                       html_escape(p.rut) + "\">Anular</button>") +
          "</li>";
    }
    body += "</ul>";
  }
  body +=
      "<h3>Reservar una hora</h3><form id=\"book\"><input type=\"hidden\" name=\"rut\" "
      "value=\"" +
      html_escape(p.rut) +
      "\"><label for=\"specialty\">Especialidad</label><select id=\"specialty\" "
      "name=\"specialty\" required>";
  const auto* docs = has_data(p.doctors) ? list(p.doctors.body, "doctors") : nullptr;
  std::vector<std::string> seen;
  if (docs) {
    for (const auto& d : *docs) {
      const std::string s = text(field(d, "specialty"));
      if (std::find(seen.begin(), seen.end(), s) != seen.end())
        continue;
      seen.push_back(s);
      body += "<option value=\"" + s + "\">" + s + "</option>";
    }
  }
  if (seen.empty())
    body += "<option value=\"general\">general</option>";
  body +=
      "</select><label for=\"starts_at\">Fecha y hora</label><input id=\"starts_at\" "
      "name=\"starts_at\" type=\"datetime-local\" required><label for=\"reason\">Motivo "
      "(opcional)</label><input id=\"reason\" name=\"reason\" maxlength=\"300\">"
      "<button type=\"submit\">Reservar</button><p id=\"book-result\" role=\"status\"></p>"
      "</form></section></main>";
  body += kScript;
  return page("Portal de pacientes · " + p.rut, body);
}

}  // namespace medgate::service
