#include "apps/admin-service/admin_api.hpp"

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

constexpr const char* kPatientColumns =
    "SELECT rut, name, to_char(birth_date, 'YYYY-MM-DD') AS birth_date, email, phone, insurance "
    "FROM patients ";
constexpr const char* kPaymentColumns =
    "SELECT id, to_char(paid_at AT TIME ZONE 'America/Santiago', 'YYYY-MM-DD') AS date, amount, "
    "concept, status, invoice_id FROM payments ";

json::object patient_json(const db::SqlResult& r, size_t i) {
  return {{"rut", sql_text(r.at(i, "rut"))},
          {"name", sql_text(r.at(i, "name"))},
          {"birth_date", sql_text(r.at(i, "birth_date"))},
          {"email", sql_text(r.at(i, "email"))},
          {"phone", sql_text(r.at(i, "phone"))},
          {"insurance", sql_text(r.at(i, "insurance"))}};
}

// Who writes: the verified token's subject (none with authentication off).
db::SqlValue recorded_by(const RequestContext& ctx) {
  return ctx.principal ? db::SqlValue(ctx.principal->subject) : std::nullopt;
}

json::object payment_json(const db::SqlResult& r, size_t i) {
  json::object o{{"id", sql_int(r.at(i, "id"))},
                 {"date", sql_text(r.at(i, "date"))},
                 {"amount", sql_int(r.at(i, "amount"))},
                 {"concept", sql_text(r.at(i, "concept"))},
                 {"status", sql_text(r.at(i, "status"))}};
  o["invoice_id"] = r.at(i, "invoice_id") ? json::value(sql_int(r.at(i, "invoice_id"))) : nullptr;
  return o;
}

bool patient_exists(DbConnection& c, const std::string& rut) {
  return !c.execute("SELECT 1 FROM patients WHERE rut = $1", {rut}).rows.empty();
}

// Rows of `sql` for an existing patient, or nullopt when there is no such patient.
std::optional<db::SqlResult> for_patient(DbConnection& c, const std::string& rut,
                                         const std::string& sql) {
  if (!patient_exists(c, rut))
    return std::nullopt;
  return c.execute(sql, {rut});
}

}  // namespace

std::vector<auth::AccessRule> admin_access_rules() {
  using auth::Role;
  const auto get = *auth::MethodSet::parse("GET");
  auto get_post = get;
  get_post.add(*auth::MethodSet::parse("POST"));
  const auto post = *auth::MethodSet::parse("POST");
  return {
      {"/patients", get_post, {Role::administrative}, false, true, "rut"},
      {"/patients/{rut}",
       get,
       {Role::administrative, Role::accountant, Role::doctor, Role::nurse},
       true,
       true},
      {"/patients/{rut}/payments", get, {Role::administrative, Role::accountant}, true, true},
      {"/patients/{rut}/invoices", get, {Role::administrative, Role::accountant}, true, true},
      {"/payments", post, {Role::administrative, Role::accountant}, false, true, "rut"},
  };
}

Router admin_routes(db::DbPool& pool, const ServiceConfig& cfg) {
  Router r;
  const SqlDialect dialect = cfg.dialect();

  r.add(http::verb::get, "/health", [&pool](RequestContext& ctx) -> awaitable<Response> {
    co_return co_await health_reply(pool, "administrative", ctx);
  });

  r.add(http::verb::get, "/patients", [&pool](RequestContext& ctx) -> awaitable<Response> {
    auto number = [&](std::string_view name, int64_t def, int64_t max) -> int64_t {
      const auto v = ctx.query_param(name);
      if (!v || v->empty())
        return def;
      if (v->size() > 9 || v->find_first_not_of("0123456789") != std::string::npos ||
          std::stoll(*v) > max)
        throw InputError(400, "invalid_parameter", std::string(name),
                         std::string(name) + " must be a number up to " + std::to_string(max));
      return std::stoll(*v);
    };
    const int64_t limit = number("limit", 50, 200);
    const int64_t offset = number("offset", 0, 1'000'000);
    const auto rows = co_await pool.query(ctx.deadline, Access::read, [&](DbConnection& c) {
      return c.execute(std::string(kPatientColumns) + "ORDER BY name, rut LIMIT $1 OFFSET $2",
                       {std::to_string(limit), std::to_string(offset)});
    });
    json::array list;
    for (size_t i = 0; i < rows.rows.size(); ++i)
      list.push_back(patient_json(rows, i));
    co_return json_reply(
        ctx.request, 200,
        json::serialize(json::object{{"patients", list}, {"limit", limit}, {"offset", offset}}));
  });

  r.add(http::verb::post, "/patients",
        [&pool, dialect](RequestContext& ctx) -> awaitable<Response> {
          JsonInput in(ctx.request.body());
          const std::string rut = in.rut("rut");
          const std::string name = in.text("name", 120);
          std::optional<std::string> birth;
          if (in.optional_text("birth_date", 10))
            birth = in.date("birth_date");
          const auto email = in.optional_text("email", 200);
          if (email &&
              (email->find('@') == std::string::npos || email->find(' ') != std::string::npos))
            throw InputError(422, "invalid_field", "email", "email: must be an e-mail address");
          const auto phone = in.optional_text("phone", 40);
          const auto insurance = in.optional_text("insurance", 60);
          const db::SqlValue by = recorded_by(ctx);
          co_return co_await idempotent_write(pool, dialect, ctx, [&](DbConnection& c) -> Reply {
            if (patient_exists(c, rut))
              return {409, json::serialize(json::object{{"error", "conflict"},
                                                        {"field", "rut"},
                                                        {"message",
                                                         "a patient with this RUT "
                                                         "already exists"}})};
            (void)c.execute(
                "INSERT INTO patients (rut, name, birth_date, email, phone, insurance, "
                "registered_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                {rut, name, birth, email, phone, insurance, by});
            const auto row = c.execute(std::string(kPatientColumns) + "WHERE rut = $1", {rut});
            return {201, json::serialize(json::object{{"patient", patient_json(row, 0)}})};
          });
        });

  r.add(http::verb::get, "/patients/{rut}", [&pool](RequestContext& ctx) -> awaitable<Response> {
    const std::string rut = rut_path_param(ctx);
    const auto rows = co_await pool.query(ctx.deadline, Access::read, [&](DbConnection& c) {
      return c.execute(std::string(kPatientColumns) + "WHERE rut = $1", {rut});
    });
    if (rows.rows.empty())
      co_return error_reply(ctx.request, 404, "not_found", "no such patient");
    co_return json_reply(ctx.request, 200, json::serialize(patient_json(rows, 0)));
  });

  r.add(http::verb::get, "/patients/{rut}/payments",
        [&pool](RequestContext& ctx) -> awaitable<Response> {
          const std::string rut = rut_path_param(ctx);
          const auto rows =
              co_await pool.transaction(ctx.deadline, Access::read, [&](DbConnection& c) {
                return for_patient(c, rut,
                                   std::string(kPaymentColumns) +
                                       "WHERE patient_rut = $1 ORDER BY paid_at DESC, id DESC "
                                       "LIMIT 500");
              });
          if (!rows)
            co_return error_reply(ctx.request, 404, "not_found", "no such patient");
          json::array list;
          for (size_t i = 0; i < rows->rows.size(); ++i)
            list.push_back(payment_json(*rows, i));
          co_return json_reply(
              ctx.request, 200,
              json::serialize(json::object{{"patient_rut", rut}, {"payments", list}}));
        });

  r.add(http::verb::get, "/patients/{rut}/invoices",
        [&pool](RequestContext& ctx) -> awaitable<Response> {
          const std::string rut = rut_path_param(ctx);
          const auto rows =
              co_await pool.transaction(ctx.deadline, Access::read, [&](DbConnection& c) {
                return for_patient(
                    c, rut,
                    "SELECT id, to_char(issued, 'YYYY-MM-DD') AS issued, to_char(due, "
                    "'YYYY-MM-DD') AS due, amount, status FROM invoices WHERE patient_rut = $1 "
                    "ORDER BY issued DESC, id DESC LIMIT 500");
              });
          if (!rows)
            co_return error_reply(ctx.request, 404, "not_found", "no such patient");
          json::array list;
          for (size_t i = 0; i < rows->rows.size(); ++i)
            list.push_back(json::object{{"id", sql_int(rows->at(i, "id"))},
                                        {"issued", sql_text(rows->at(i, "issued"))},
                                        {"due", sql_text(rows->at(i, "due"))},
                                        {"amount", sql_int(rows->at(i, "amount"))},
                                        {"status", sql_text(rows->at(i, "status"))}});
          co_return json_reply(
              ctx.request, 200,
              json::serialize(json::object{{"patient_rut", rut}, {"invoices", list}}));
        });

  // {"rut", "amount", "concept"[, "invoice_id"]}: paying an invoice marks it paid in the
  // same transaction, and only for its exact amount.
  r.add(
      http::verb::post, "/payments", [&pool, dialect](RequestContext& ctx) -> awaitable<Response> {
        JsonInput in(ctx.request.body());
        const std::string rut = in.rut("rut");
        const int64_t amount = in.integer("amount", 1, 1'000'000'000'000);
        const std::string payment_concept = in.text("concept", 200);
        const auto invoice = in.optional_integer("invoice_id", 1, INT64_MAX);
        const db::SqlValue by = recorded_by(ctx);
        co_return co_await idempotent_write(pool, dialect, ctx, [&](DbConnection& c) -> Reply {
          if (!patient_exists(c, rut))
            throw InputError(422, "invalid_field", "rut", "rut: no such patient");
          if (invoice) {
            const auto inv = c.execute(
                "SELECT amount, status FROM invoices WHERE id = $1 AND patient_rut = $2 FOR UPDATE",
                {std::to_string(*invoice), rut});
            if (inv.rows.empty())
              throw InputError(422, "invalid_field", "invoice_id",
                               "invoice_id: no such invoice for this patient");
            if (inv.at(0, "status") != "pending")
              throw InputError(422, "invalid_field", "invoice_id", "invoice_id: already paid");
            if (sql_int(inv.at(0, "amount")) != amount)
              throw InputError(
                  422, "invalid_field", "amount",
                  "amount: must equal the invoice's amount (" + *inv.at(0, "amount") + ")");
            (void)c.execute("UPDATE invoices SET status = 'paid' WHERE id = $1",
                            {std::to_string(*invoice)});
          }
          const auto ins = c.execute(
              "INSERT INTO payments (patient_rut, amount, concept, invoice_id, posted_by) VALUES "
              "($1, $2, $3, $4, $5) RETURNING id",
              {rut, std::to_string(amount), payment_concept,
               invoice ? db::SqlValue(std::to_string(*invoice)) : std::nullopt, by});
          const auto row =
              c.execute(std::string(kPaymentColumns) + "WHERE id = $1", {*ins.rows[0][0]});
          json::object payment = payment_json(row, 0);
          payment["patient_rut"] = rut;
          payment["posted_by"] = by ? json::value(*by) : json::value(nullptr);
          return {201, json::serialize(json::object{{"payment", payment}})};
        });
      });
  return r;
}

}  // namespace medgate::service
