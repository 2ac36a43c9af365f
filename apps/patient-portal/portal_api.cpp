#include "apps/patient-portal/portal_api.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "apps/patient-portal/pages.hpp"
#include "apps/service-kit/idempotency.hpp"
#include "apps/service-kit/json_input.hpp"
#include "apps/service-kit/service_main.hpp"
#include "domain/rut.hpp"

namespace medgate::service {

namespace json = boost::json;
using boost::asio::awaitable;
using db::Access;
using db::DbConnection;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

constexpr const char* kAppointmentColumns =
    "SELECT id, specialty, DATE_FORMAT(starts_at, '%Y-%m-%d %H:%i') AS starts_at, reason, "
    "status FROM appointments ";

json::object appointment_json(const db::SqlResult& r, size_t i) {
  auto text = [](const db::SqlValue& v) { return v ? json::value(*v) : json::value(nullptr); };
  return {{"id", std::stoll(r.at(i, "id").value_or("0"))},
          {"specialty", text(r.at(i, "specialty"))},
          {"starts_at", text(r.at(i, "starts_at"))},
          {"reason", text(r.at(i, "reason"))},
          {"status", text(r.at(i, "status"))}};
}

std::string rut_query(const RequestContext& ctx) {
  const auto raw = ctx.query_param("rut");
  auto rut = raw ? domain::normalize_rut(*raw) : std::nullopt;
  if (!rut)
    throw InputError(400, "invalid_rut", "rut",
                     "RUT must look like 12345678-5 with a valid check digit");
  return *rut;
}

Response html_reply(const Request& req, unsigned status, std::string body) {
  Response res{static_cast<http::status>(status), req.version()};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.set("Content-Security-Policy",
          "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

}  // namespace

Router portal_routes(db::DbPool& pool, const ServiceConfig& cfg,
                     std::shared_ptr<const GatewayClient> gateway) {
  Router r;
  const SqlDialect dialect = cfg.dialect();

  r.add(http::verb::get, "/health", [&pool](RequestContext& ctx) -> awaitable<Response> {
    co_return co_await health_reply(pool, "portal", ctx);
  });

  r.add(http::verb::get, "/", [](RequestContext& ctx) -> awaitable<Response> {
    co_return html_reply(ctx.request, 200, render_sign_in("", ""));
  });

  r.add(http::verb::get, "/patient", [&pool, gateway](RequestContext& ctx) -> awaitable<Response> {
    const auto typed = ctx.query_param("rut").value_or("");
    const auto rut = domain::normalize_rut(typed);
    if (!rut)
      co_return html_reply(ctx.request, 400,
                           render_sign_in("El RUT no es válido: revise el dígito verificador.",
                                          typed.substr(0, 16)));
    PatientPage page;
    page.rut = *rut;
    const std::string id = ctx.request_id;
    std::tie(page.patient, page.history, page.payments, page.doctors) =
        co_await (gateway->get("/api/patient/" + *rut, id) &&
                  gateway->get("/api/medical-history/" + *rut, id) &&
                  gateway->get("/api/payments/" + *rut, id) && gateway->get("/api/doctors", id));
    try {
      page.appointments = co_await pool.query(ctx.deadline, Access::read, [&](DbConnection& c) {
        return c.execute(std::string(kAppointmentColumns) +
                             "WHERE patient_rut = ? ORDER BY starts_at DESC LIMIT 100",
                         {*rut});
      });
    } catch (const db::DbError&) {
      page.appointments_ok = false;  // the page still shows what medgate gave
    }
    co_return html_reply(ctx.request, 200, render_patient(page));
  });

  r.add(http::verb::get, "/api/appointments", [&pool](RequestContext& ctx) -> awaitable<Response> {
    const std::string rut = rut_query(ctx);
    const auto rows = co_await pool.query(ctx.deadline, Access::read, [&](DbConnection& c) {
      return c.execute(std::string(kAppointmentColumns) +
                           "WHERE patient_rut = ? ORDER BY starts_at DESC LIMIT 100",
                       {rut});
    });
    json::array list;
    for (size_t i = 0; i < rows.rows.size(); ++i)
      list.push_back(appointment_json(rows, i));
    co_return json_reply(
        ctx.request, 200,
        json::serialize(json::object{{"patient_rut", rut}, {"appointments", list}}));
  });

  r.add(http::verb::post, "/api/appointments",
        [&pool, dialect](RequestContext& ctx) -> awaitable<Response> {
          JsonInput in(ctx.request.body());
          const std::string rut = in.rut("rut");
          const std::string specialty = in.text("specialty", 64);
          const std::string starts_at = in.datetime("starts_at");
          const auto reason = in.optional_text("reason", 300);
          co_return co_await idempotent_write(pool, dialect, ctx, [&](DbConnection& c) -> Reply {
            if (c.execute("SELECT 1 FROM DUAL WHERE ? > NOW()", {starts_at}).rows.empty())
              throw InputError(422, "invalid_field", "starts_at",
                               "starts_at: must be in the future");
            const auto ins = c.execute(
                "INSERT INTO appointments (patient_rut, specialty, starts_at, reason) VALUES "
                "(?, ?, ?, ?)",
                {rut, specialty, starts_at, reason});
            const auto row = c.execute(std::string(kAppointmentColumns) + "WHERE id = ?",
                                       {std::to_string(ins.insert_id)});
            return {201, json::serialize(json::object{{"appointment", appointment_json(row, 0)}})};
          });
        });

  // Cancels (never deletes: the history stays). Cancelling twice is a no-op.
  r.add(
      http::verb::delete_, "/api/appointments/{id}",
      [&pool](RequestContext& ctx) -> awaitable<Response> {
        const std::string rut = rut_query(ctx);
        const std::string& id = ctx.param("id");
        if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos)
          throw InputError(400, "invalid_parameter", "id", "must be a positive integer");
        const auto row =
            co_await pool.transaction(ctx.deadline, Access::write, [&](DbConnection& c) {
              (void)c.execute(
                  "UPDATE appointments SET status = 'cancelled', cancelled_at = NOW() "
                  "WHERE id = ? AND patient_rut = ? AND status = 'booked'",
                  {id, rut});
              return c.execute(
                  std::string(kAppointmentColumns) + "WHERE id = ? AND patient_rut = ?", {id, rut});
            });
        if (row.rows.empty())
          co_return error_reply(ctx.request, 404, "not_found", "no such appointment");
        co_return json_reply(
            ctx.request, 200,
            json::serialize(json::object{{"appointment", appointment_json(row, 0)}}));
      });
  return r;
}

}  // namespace medgate::service
