#include "apps/medical-service/medical_api.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "apps/service-kit/idempotency.hpp"
#include "apps/service-kit/json_input.hpp"
#include "apps/service-kit/service_main.hpp"
#include "apps/service-kit/sql_json.hpp"
#include "domain/rut.hpp"

namespace medgate::service {

namespace json = boost::json;
using boost::asio::awaitable;
using db::Access;
using db::DbConnection;

namespace {

int64_t id_param(const RequestContext& ctx, std::string_view name) {
  const std::string& s = ctx.param(name);
  if (s.empty() || s.size() > 12 || s.find_first_not_of("0123456789") != std::string::npos)
    throw InputError(400, "invalid_parameter", std::string(name), "must be a positive integer");
  return std::stoll(s);
}

json::object consultation_json(const db::SqlResult& r, size_t i) {
  return {{"id", sql_int(r.at(i, "id"))},
          {"date", sql_text(r.at(i, "date"))},
          {"doctor", sql_text(r.at(i, "doctor"))},
          {"doctor_id", sql_int(r.at(i, "doctor_id"))},
          {"specialty", sql_text(r.at(i, "specialty"))},
          {"diagnosis", sql_text(r.at(i, "diagnosis"))},
          {"treatment", sql_text(r.at(i, "treatment"))}};
}

constexpr const char* kConsultationColumns =
    "SELECT c.id, DATE_FORMAT(c.date, '%Y-%m-%d') AS date, d.name AS doctor, d.id AS doctor_id, "
    "d.specialty, c.diagnosis, c.treatment FROM consultations c "
    "JOIN doctors d ON d.id = c.doctor_id ";

}  // namespace

std::vector<auth::AccessRule> medical_access_rules() {
  using auth::Role;
  const auto get = *auth::MethodSet::parse("GET");
  const auto post = *auth::MethodSet::parse("POST");
  const auth::RoleSet anyone{Role::patient,        Role::doctor,     Role::nurse,
                             Role::administrative, Role::accountant, Role::service};
  return {
      {"/patients/{rut}/consultations", get, {Role::doctor, Role::nurse}, true, true},
      {"/consultations", post, {Role::doctor}, false, true, "patient_rut"},
      {"/doctors", get, anyone, false, false},
      {"/doctors/*/availability", get, anyone, false, false},
  };
}

Router medical_routes(db::DbPool& pool, const ServiceConfig& cfg) {
  Router r;
  const SqlDialect dialect = cfg.dialect();

  r.add(http::verb::get, "/health", [&pool](RequestContext& ctx) -> awaitable<Response> {
    co_return co_await health_reply(pool, "medical", ctx);
  });

  r.add(http::verb::get, "/patients/{rut}/consultations",
        [&pool](RequestContext& ctx) -> awaitable<Response> {
          const std::string rut = rut_path_param(ctx);
          const db::SqlResult rows =
              co_await pool.query(ctx.deadline, Access::read, [&rut](DbConnection& c) {
                return c.execute(std::string(kConsultationColumns) +
                                     "WHERE c.patient_rut = ? ORDER BY c.date DESC, c.id DESC "
                                     "LIMIT 500",
                                 {rut});
              });
          json::array list;
          for (size_t i = 0; i < rows.rows.size(); ++i)
            list.push_back(consultation_json(rows, i));
          co_return json_reply(
              ctx.request, 200,
              json::serialize(json::object{{"patient_rut", rut}, {"consultations", list}}));
        });

  // A consultation is written by the doctor the caller's token names (staff.subject), never by
  // a doctor_id the body picks: a doctor_id that differs is 403. Only a service running with
  // authentication off (tests, benchmarks; loopback) takes doctor_id from the body.
  r.add(
      http::verb::post, "/consultations",
      [&pool, dialect](RequestContext& ctx) -> awaitable<Response> {
        JsonInput in(ctx.request.body());
        const std::string rut = in.rut("patient_rut");
        const auto named_doctor = in.optional_integer("doctor_id", 1, INT32_MAX);
        const std::string date = in.date("date");
        const std::string diagnosis = in.text("diagnosis", 500, Lines::many);
        const std::string treatment = in.text("treatment", 500, Lines::many);
        const std::optional<std::string> subject =
            ctx.principal ? std::optional<std::string>(ctx.principal->subject) : std::nullopt;
        if (!subject && !named_doctor)
          throw InputError(422, "invalid_field", "doctor_id", "doctor_id: is required");
        co_return co_await idempotent_write(pool, dialect, ctx, [&](DbConnection& c) -> Reply {
          std::string doctor;
          if (subject) {
            const auto me = c.execute("SELECT doctor_id FROM staff WHERE subject = ?", {*subject});
            if (me.rows.empty() || !me.at(0, "doctor_id"))
              throw InputError(403, "forbidden", "doctor_id",
                               "the token's subject is not a doctor known to the medical service");
            doctor = *me.at(0, "doctor_id");
            if (named_doctor && std::to_string(*named_doctor) != doctor)
              throw InputError(403, "forbidden", "doctor_id",
                               "a consultation is written in the name of the doctor the token "
                               "names, not another");
          } else {
            doctor = std::to_string(*named_doctor);
            if (c.execute("SELECT id FROM doctors WHERE id = ?", {doctor}).rows.empty())
              throw InputError(422, "invalid_field", "doctor_id", "doctor_id: no such doctor");
          }
          const auto ins = c.execute(
              "INSERT INTO consultations (patient_rut, doctor_id, date, diagnosis, treatment, "
              "recorded_by) VALUES (?, ?, ?, ?, ?, ?)",
              {rut, doctor, date, diagnosis, treatment, subject});
          const auto row = c.execute(std::string(kConsultationColumns) + "WHERE c.id = ?",
                                     {std::to_string(ins.insert_id)});
          return {201, json::serialize(json::object{{"consultation", consultation_json(row, 0)}})};
        });
      });

  r.add(http::verb::get, "/doctors", [&pool](RequestContext& ctx) -> awaitable<Response> {
    const auto specialty = ctx.query_param("specialty");
    if (specialty && specialty->size() > 64)
      throw InputError(400, "invalid_parameter", "specialty", "at most 64 characters");
    if (specialty && has_control_chars(*specialty))
      throw InputError(400, "invalid_parameter", "specialty", "no control characters");
    const bool filter = specialty && !specialty->empty();
    const db::SqlResult rows =
        co_await pool.query(ctx.deadline, Access::read, [&](DbConnection& c) {
          const std::string sql =
              "SELECT d.id, d.name, d.specialty, EXISTS (SELECT 1 FROM availability a WHERE "
              "a.doctor_id = d.id AND a.booked = 0 AND a.starts_at >= NOW()) AS available "
              "FROM doctors d " +
              std::string(filter ? "WHERE d.specialty = ? " : "") + "ORDER BY d.name";
          return c.execute(sql, filter ? db::SqlParams{*specialty} : db::SqlParams{});
        });
    json::array list;
    for (size_t i = 0; i < rows.rows.size(); ++i)
      list.push_back(json::object{{"id", sql_int(rows.at(i, "id"))},
                                  {"name", sql_text(rows.at(i, "name"))},
                                  {"specialty", sql_text(rows.at(i, "specialty"))},
                                  {"available", rows.at(i, "available") == "1"}});
    co_return json_reply(ctx.request, 200, json::serialize(json::object{{"doctors", list}}));
  });

  r.add(http::verb::get, "/doctors/{id}/availability",
        [&pool](RequestContext& ctx) -> awaitable<Response> {
          const int64_t id = id_param(ctx, "id");
          struct Result {
            bool found = false;
            db::SqlResult slots;
          };
          const Result res =
              co_await pool.transaction(ctx.deadline, Access::read, [id](DbConnection& c) {
                Result out;
                out.found = !c.execute("SELECT id FROM doctors WHERE id = ?", {std::to_string(id)})
                                 .rows.empty();
                if (out.found)
                  out.slots = c.execute(
                      "SELECT id, DATE_FORMAT(starts_at, '%Y-%m-%d %H:%i') AS starts_at, "
                      "DATE_FORMAT(ends_at, '%Y-%m-%d %H:%i') AS ends_at, booked FROM availability "
                      "WHERE doctor_id = ? AND starts_at >= NOW() ORDER BY starts_at LIMIT 200",
                      {std::to_string(id)});
                return out;
              });
          if (!res.found)
            co_return error_reply(ctx.request, 404, "not_found", "no such doctor");
          json::array slots;
          for (size_t i = 0; i < res.slots.rows.size(); ++i)
            slots.push_back(json::object{{"id", sql_int(res.slots.at(i, "id"))},
                                         {"starts_at", sql_text(res.slots.at(i, "starts_at"))},
                                         {"ends_at", sql_text(res.slots.at(i, "ends_at"))},
                                         {"booked", res.slots.at(i, "booked") == "1"}});
          co_return json_reply(ctx.request, 200,
                               json::serialize(json::object{{"doctor_id", id}, {"slots", slots}}));
        });
  return r;
}

}  // namespace medgate::service
