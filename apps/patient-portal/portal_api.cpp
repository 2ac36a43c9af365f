#include "apps/patient-portal/portal_api.hpp"

#include <utility>
#include <variant>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "apps/patient-portal/pages.hpp"
#include "apps/patient-portal/patient_tokens.hpp"
#include "apps/patient-portal/web_guard.hpp"
#include "apps/service-kit/idempotency.hpp"
#include "apps/service-kit/json_input.hpp"
#include "apps/service-kit/service_main.hpp"
#include "auth/password.hpp"
#include "clients/url_query.hpp"
#include "domain/rut.hpp"
#include "http/secure_equals.hpp"
#include "resilience/client_rate_limiter.hpp"

namespace medgate::service {

namespace json = boost::json;
using boost::asio::awaitable;
using db::Access;
using db::DbConnection;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

constexpr const char* kAppointmentColumns =
    "SELECT id, specialty, DATE_FORMAT(starts_at, '%Y-%m-%d %H:%i') AS starts_at, reason, "
    "status, starts_at > NOW() AS upcoming FROM appointments ";

json::object appointment_json(const db::SqlResult& r, size_t i) {
  auto text = [](const db::SqlValue& v) { return v ? json::value(*v) : json::value(nullptr); };
  return {{"id", std::stoll(r.at(i, "id").value_or("0"))},
          {"specialty", text(r.at(i, "specialty"))},
          {"starts_at", text(r.at(i, "starts_at"))},
          {"reason", text(r.at(i, "reason"))},
          {"status", text(r.at(i, "status"))}};
}

Response html_reply(const Request& req, unsigned status, std::string body) {
  Response res{static_cast<http::status>(status), req.version()};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response redirect(const Request& req, std::string_view to) {
  Response res{http::status::see_other, req.version()};
  res.set(http::field::location, to);
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

// A field of an application/x-www-form-urlencoded body; empty when absent or malformed.
std::string form_field(std::string_view body, std::string_view name) {
  const auto raw = clients::find_query_param(body, name);
  return raw ? clients::percent_decode(*raw).value_or("") : std::string();
}

bool content_type_is(const Request& req, std::string_view want) {
  const auto it = req.find(http::field::content_type);
  if (it == req.end())
    return false;
  const std::string_view v = it->value();
  return boost::beast::iequals(v.substr(0, v.find(';')), want);
}

// Everything the routes share; owned by the router's handlers.
struct Portal {
  Portal(db::DbPool& p, const PortalParts& parts)
      : pool(p),
        gateway(parts.gateway),
        settings(parts.security),
        sessions(p, *settings),
        gate(p, *settings),
        web(*settings),
        issuer(settings->token),
        tokens(issuer, settings->token_ttl),
        sign_in_rate(settings->attempts_per_second, settings->attempts_burst, 100'000, clock) {}

  db::DbPool& pool;
  std::shared_ptr<const GatewayClient> gateway;
  std::shared_ptr<const PortalSecuritySettings> settings;
  SessionStore sessions;
  SignInGate gate;
  WebGuard web;
  auth::TokenIssuer issuer;
  PatientTokens tokens;
  resilience::SteadyClock clock;
  resilience::ClientRateLimiter sign_in_rate;  // attempts per client address

  [[nodiscard]] std::string patient_token(const std::string& rut) {
    return tokens.for_patient(rut, std::chrono::system_clock::now());
  }
};

// A state-changing call must come from the portal's own page: same origin, and the
// session's CSRF token in X-CSRF-Token (JSON calls) or the `csrf` field (forms).
std::optional<Response> csrf_refusal(const Portal& portal, const RequestContext& ctx,
                                     const Session& session, std::string_view given) {
  if (!portal.web.same_origin(ctx.request))
    return error_reply(ctx.request, 403, "cross_origin",
                       "this request did not come from the portal");
  if (given.empty() || !httpd::secure_equals(given, session.csrf_token))
    return error_reply(ctx.request, 403, "csrf_token", "missing or wrong CSRF token");
  return std::nullopt;
}

constexpr int64_t kMaxId = (int64_t{1} << 53) - 1;

// Whether the medical service (through medgate, in the patient's name) offers `slot` of
// `doctor` free and in the future: its specialty and start, or the refusal to send.
awaitable<std::variant<std::pair<std::string, std::string>, Response>> offered_slot(
    Portal& portal, const std::string& rut, int64_t doctor, int64_t slot,
    const std::string& request_id) {
  const std::string token = portal.patient_token(rut);
  const auto& gw = *portal.gateway;
  auto [availability, doctors] =
      co_await (gw.get("/api/medical/doctors/" + std::to_string(doctor) + "/availability",
                       request_id, token) &&
                gw.get("/api/doctors", request_id, token));
  using Kind = GatewayAnswer::Kind;
  const Request none;
  if (availability.kind == Kind::not_found)
    co_return error_reply(none, 404, "not_found", "no such doctor");
  if (availability.kind != Kind::ok || doctors.kind != Kind::ok)
    co_return error_reply(none, 503, "slots_unavailable",
                          "No podemos confirmar las horas libres en este momento. Intente de "
                          "nuevo en unos segundos.");
  std::string specialty;
  if (const auto* list = doctors.body.as_object().if_contains("doctors"); list && list->is_array())
    for (const auto& d : list->as_array()) {
      const auto* o = d.if_object();
      const auto* id = o ? o->if_contains("id") : nullptr;
      if (id && id->is_int64() && id->as_int64() == doctor)
        if (const auto* sp = o->if_contains("specialty"); sp && sp->is_string())
          specialty = std::string(sp->as_string());
    }
  if (const auto* slots = availability.body.as_object().if_contains("slots");
      slots && slots->is_array() && !specialty.empty())
    for (const auto& x : slots->as_array()) {
      const auto* o = x.if_object();
      if (!o)
        continue;
      const auto* id = o->if_contains("id");
      const auto* booked = o->if_contains("booked");
      const auto* at = o->if_contains("starts_at");
      if (id && id->is_int64() && id->as_int64() == slot && at && at->is_string() &&
          !(booked && booked->is_bool() && booked->as_bool()))
        co_return std::pair{specialty, std::string(at->as_string())};
    }
  co_return error_reply(none, 409, "slot_not_offered",
                        "Esa hora ya no está libre. Elija otra, por favor.");
}

}  // namespace

Router portal_routes(db::DbPool& pool, const ServiceConfig& cfg, const PortalParts& given) {
  PortalParts parts = given;
  auto settings = std::make_shared<PortalSecuritySettings>(*given.security);
  default_web_names(*settings, cfg.listen.port);
  parts.security = std::move(settings);
  const auto portal = std::make_shared<Portal>(pool, parts);
  portal->gate.ensure_demo_accounts();
  const SqlDialect dialect = cfg.dialect();
  Router r;

  // Every page and call: only under an allowed Host name, and with the security headers.
  auto add = [&r, portal](http::verb method, std::string pattern, Handler handler) {
    r.add(method, std::move(pattern),
          [portal, handler = std::move(handler)](RequestContext& ctx) -> awaitable<Response> {
            // No co_await inside ?: (GCC 12 miscompiles it).
            Response res;
            if (portal->web.host_allowed(ctx.request))
              res = co_await handler(ctx);
            else
              res = error_reply(ctx.request, 421, "misdirected_request",
                                "this host name is not served here");
            portal->web.harden(res);
            co_return res;
          });
  };
  // Handlers for a signed-in patient get the session; others get 401 (JSON) or the sign-in
  // page (HTML).
  using SessionHandler = std::function<awaitable<Response>(RequestContext&, const Session&)>;
  auto signed_in = [portal](bool html, SessionHandler handler) -> Handler {
    return
        [portal, html, handler = std::move(handler)](RequestContext& ctx) -> awaitable<Response> {
          const auto session =
              co_await portal->sessions.find(portal->web.session_cookie(ctx.request), ctx.deadline);
          if (!session)
            co_return html ? redirect(ctx.request, "/")
                           : error_reply(ctx.request, 401, "not_signed_in", "sign in first");
          co_return co_await handler(ctx, *session);
        };
  };

  r.add(http::verb::get, "/health", [&pool](RequestContext& ctx) -> awaitable<Response> {
    co_return co_await health_reply(pool, "portal", ctx);
  });

  for (const char* name : {"portal.js", "portal.css"}) {
    const std::string file = name;
    add(http::verb::get, "/static/" + file, [file](RequestContext& ctx) -> awaitable<Response> {
      Response res{http::status::ok, ctx.request.version()};
      res.set(http::field::content_type,
              file.ends_with(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8");
      res.keep_alive(ctx.request.keep_alive());
      res.body() = std::string(portal_asset(file));
      res.prepare_payload();
      co_return res;
    });
  }

  add(http::verb::get, "/", [portal](RequestContext& ctx) -> awaitable<Response> {
    const auto session =
        co_await portal->sessions.find(portal->web.session_cookie(ctx.request), ctx.deadline);
    if (session)
      co_return redirect(ctx.request, "/patient");
    co_return html_reply(ctx.request, 200, render_sign_in("", ""));
  });

  add(http::verb::post, "/login", [portal](RequestContext& ctx) -> awaitable<Response> {
    if (!portal->web.same_origin(ctx.request))
      co_return error_reply(ctx.request, 403, "cross_origin",
                            "this request did not come from the portal");
    if (!content_type_is(ctx.request, "application/x-www-form-urlencoded"))
      co_return error_reply(ctx.request, 415, "unsupported_media_type",
                            "send the sign-in form (application/x-www-form-urlencoded)");
    if (const auto v = portal->sign_in_rate.try_acquire(ctx.client_address); !v.allowed) {
      const auto secs =
          std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(v.retry_after).count());
      Response res = html_reply(
          ctx.request, 429,
          render_sign_in("Demasiados intentos desde esta conexión. Espere unos segundos.", ""));
      res.set(http::field::retry_after, std::to_string(secs));
      co_return res;
    }
    const std::string& body = ctx.request.body();
    const std::string rut = form_field(body, "rut").substr(0, 16);
    const std::string password = form_field(body, "password");
    if (rut.empty() || password.empty() || password.size() > auth::kMaxPasswordBytes)
      co_return html_reply(ctx.request, 400,
                           render_sign_in("Ingrese su RUT y su contraseña.", rut));
    const SignInResult result =
        co_await portal->gate.sign_in(rut, password, ctx.client_address, ctx.deadline);
    if (result.kind == SignInResult::Kind::locked) {
      const auto minutes = std::max<long>(1, (result.retry_after.count() + 59) / 60);
      Response res = html_reply(
          ctx.request, 429,
          render_sign_in("Demasiados intentos fallidos. Intente de nuevo en " +
                             std::to_string(minutes) + (minutes == 1 ? " minuto." : " minutos."),
                         rut));
      res.set(http::field::retry_after, std::to_string(result.retry_after.count()));
      co_return res;
    }
    if (result.kind == SignInResult::Kind::refused)
      co_return html_reply(ctx.request, 401, render_sign_in("RUT o contraseña incorrectos.", rut));
    // A new session on every sign-in: a session id planted before it is worth nothing.
    auto [cookie, session] = co_await portal->sessions.open(result.rut, ctx.deadline);
    Response res = redirect(ctx.request, "/patient");
    res.set(http::field::set_cookie, portal->web.set_session_cookie(cookie));
    co_return res;
  });

  add(http::verb::post, "/logout",
      signed_in(true, [portal](RequestContext& ctx, const Session& s) -> awaitable<Response> {
        if (!content_type_is(ctx.request, "application/x-www-form-urlencoded"))
          co_return error_reply(ctx.request, 415, "unsupported_media_type", "send the form");
        if (auto refused = csrf_refusal(*portal, ctx, s, form_field(ctx.request.body(), "csrf")))
          co_return std::move(*refused);
        co_await portal->sessions.close(portal->web.session_cookie(ctx.request), ctx.deadline);
        Response res = redirect(ctx.request, "/");
        res.set(http::field::set_cookie, portal->web.clear_session_cookie());
        co_return res;
      }));

  add(http::verb::get, "/patient",
      signed_in(true, [portal](RequestContext& ctx, const Session& s) -> awaitable<Response> {
        PatientPage page;
        page.rut = s.rut;
        page.csrf_token = s.csrf_token;
        const std::string id = ctx.request_id;
        const std::string token = portal->patient_token(s.rut);
        const auto& gw = *portal->gateway;
        // One medgate call for the page (one unit of the patient's rate limit).
        auto parts = split_overview(co_await gw.get("/api/patient-overview/" + s.rut, id, token));
        page.patient = std::move(parts.patient);
        page.history = std::move(parts.history);
        page.payments = std::move(parts.payments);
        page.doctors = std::move(parts.doctors);
        try {
          page.appointments =
              co_await portal->pool.query(ctx.deadline, Access::read, [&](DbConnection& c) {
                return c.execute(std::string(kAppointmentColumns) +
                                     "WHERE patient_rut = ? ORDER BY starts_at DESC LIMIT 100",
                                 {s.rut});
              });
        } catch (const db::DbError&) {
          page.appointments_ok = false;  // the page still shows what medgate gave
        }
        co_return html_reply(ctx.request, 200, render_patient(page));
      }));

  // A doctor's free slots: the medical service's availability (through medgate) less the
  // slots the portal's appointments hold.
  add(http::verb::get, "/book/{doctor}",
      signed_in(true, [portal](RequestContext& ctx, const Session& s) -> awaitable<Response> {
        const std::string& doctor = ctx.param("doctor");
        if (doctor.empty() || doctor.size() > 15 ||
            doctor.find_first_not_of("0123456789") != std::string::npos)
          co_return redirect(ctx.request, "/patient");
        BookingPage page;
        page.csrf_token = s.csrf_token;
        page.doctor_id = std::stoll(doctor);
        const std::string token = portal->patient_token(s.rut);
        const auto& gw = *portal->gateway;
        std::tie(page.availability, page.doctors) = co_await (
            gw.get("/api/medical/doctors/" + doctor + "/availability", ctx.request_id, token) &&
            gw.get("/api/doctors", ctx.request_id, token));
        try {
          const auto taken =
              co_await portal->pool.query(ctx.deadline, Access::read, [&](DbConnection& c) {
                return c.execute(
                    "SELECT slot_taken FROM appointments WHERE doctor_id = ? AND slot_taken IS "
                    "NOT NULL",
                    {doctor});
              });
          for (const auto& row : taken.rows)
            if (row[0])
              page.taken.push_back(std::stoll(*row[0]));
        } catch (const db::DbError&) {
          page.taken_known = false;
        }
        co_return html_reply(ctx.request, 200, render_booking(page));
      }));

  add(http::verb::get, "/api/appointments",
      signed_in(false, [portal](RequestContext& ctx, const Session& s) -> awaitable<Response> {
        const auto rows =
            co_await portal->pool.query(ctx.deadline, Access::read, [&](DbConnection& c) {
              return c.execute(std::string(kAppointmentColumns) +
                                   "WHERE patient_rut = ? ORDER BY starts_at DESC LIMIT 100",
                               {s.rut});
            });
        json::array list;
        for (size_t i = 0; i < rows.rows.size(); ++i)
          list.push_back(appointment_json(rows, i));
        co_return json_reply(
            ctx.request, 200,
            json::serialize(json::object{{"patient_rut", s.rut}, {"appointments", list}}));
      }));

  add(http::verb::post, "/api/appointments",
      signed_in(
          false, [portal, dialect](RequestContext& ctx, const Session& s) -> awaitable<Response> {
            if (auto refused = csrf_refusal(*portal, ctx, s, ctx.header("X-CSRF-Token")))
              co_return std::move(*refused);
            if (!content_type_is(ctx.request, "application/json"))
              co_return error_reply(ctx.request, 415, "unsupported_media_type",
                                    "send JSON (Content-Type: application/json)");
            JsonInput in(ctx.request.body());
            // The patient is the session's; a `rut` in the body, if any, must be the same.
            if (const auto given = in.optional_text("rut", 16);
                given && domain::normalize_rut(*given) != s.rut)
              throw InputError(403, "forbidden", "rut",
                               "an appointment is booked for yourself only");
            const auto reason = in.optional_text("reason", 300, Lines::many);
            const std::string rut = s.rut;
            // A doctor's free slot ({"doctor_id", "slot_id"}), or a specialty and a time.
            std::string specialty, starts_at;
            db::SqlValue doctor_id, slot_id;
            if (const auto slot = in.optional_integer("slot_id", 1, kMaxId)) {
              const int64_t doctor = in.integer("doctor_id", 1, kMaxId);
              auto offered = co_await offered_slot(*portal, s.rut, doctor, *slot, ctx.request_id);
              if (auto* refusal = std::get_if<Response>(&offered)) {
                Response res = std::move(*refusal);
                res.version(ctx.request.version());
                res.keep_alive(ctx.request.keep_alive());
                co_return res;
              }
              std::tie(specialty, starts_at) =
                  std::get<std::pair<std::string, std::string>>(offered);
              doctor_id = std::to_string(doctor);
              slot_id = std::to_string(*slot);
            } else {
              specialty = in.text("specialty", 64);
              starts_at = in.datetime("starts_at");
            }
            co_return co_await idempotent_write(
                portal->pool, dialect, ctx,
                [&](DbConnection& c) -> Reply {
                  if (c.execute("SELECT 1 FROM DUAL WHERE ? > NOW()", {starts_at}).rows.empty())
                    throw InputError(422, "invalid_field", "starts_at",
                                     "starts_at: must be in the future");
                  db::SqlResult ins;
                  try {
                    ins = c.execute(
                        "INSERT INTO appointments (patient_rut, specialty, starts_at, reason, "
                        "doctor_id, slot_id, slot_taken) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        {rut, specialty, starts_at, reason, doctor_id, slot_id, slot_id});
                  } catch (const db::DbError& e) {
                    // The slot's unique key: another patient holds it (InnoDB undoes only
                    // the statement; the refusal is recorded under the key like an answer).
                    if (e.kind() != db::DbErrorKind::conflict || !slot_id)
                      throw;
                    return {409, json::serialize(json::object{
                                     {"error", "slot_taken"},
                                     {"field", "slot_id"},
                                     {"message",
                                      "Esa hora acaba de ser reservada por otra persona. Elija "
                                      "otra, por favor."}})};
                  }
                  const auto row = c.execute(std::string(kAppointmentColumns) + "WHERE id = ?",
                                             {std::to_string(ins.insert_id)});
                  return {201,
                          json::serialize(json::object{{"appointment", appointment_json(row, 0)}})};
                },
                rut);
          }));

  // Cancels (never deletes: the history stays). Cancelling twice is a no-op.
  add(http::verb::delete_, "/api/appointments/{id}",
      signed_in(false, [portal](RequestContext& ctx, const Session& s) -> awaitable<Response> {
        if (auto refused = csrf_refusal(*portal, ctx, s, ctx.header("X-CSRF-Token")))
          co_return std::move(*refused);
        const std::string& id = ctx.param("id");
        if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos)
          throw InputError(400, "invalid_parameter", "id", "must be a positive integer");
        const auto row =
            co_await portal->pool.transaction(ctx.deadline, Access::write, [&](DbConnection& c) {
              (void)c.execute(
                  "UPDATE appointments SET status = 'cancelled', cancelled_at = NOW(), "
                  "slot_taken = NULL "
                  "WHERE id = ? AND patient_rut = ? AND status = 'booked'",
                  {id, s.rut});
              return c.execute(
                  std::string(kAppointmentColumns) + "WHERE id = ? AND patient_rut = ?",
                  {id, s.rut});
            });
        if (row.rows.empty())
          co_return error_reply(ctx.request, 404, "not_found", "no such appointment");
        co_return json_reply(
            ctx.request, 200,
            json::serialize(json::object{{"appointment", appointment_json(row, 0)}}));
      }));
  return r;
}

}  // namespace medgate::service
