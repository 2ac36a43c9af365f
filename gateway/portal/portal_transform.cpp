#include "gateway/portal/portal_transform.hpp"

#include <boost/json/parse.hpp>

namespace medgate::gateway {

namespace json = boost::json;

namespace {

std::optional<json::object> parse_object(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object())
    return std::nullopt;
  return std::move(v.as_object());
}

const json::array* array_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_array())
    return nullptr;
  return &it->value().as_array();
}

// The field's value, or null when absent.
json::value field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? json::value(nullptr) : it->value();
}

// Copies the listed keys (null when absent) from each object element.
std::optional<json::array> project(const json::array& in,
                                   std::initializer_list<std::string_view> keys) {
  json::array out;
  out.reserve(in.size());
  for (const auto& item : in) {
    if (!item.is_object())
      return std::nullopt;
    json::object o;
    for (auto k : keys)
      o[k] = field(item.as_object(), k);
    out.push_back(std::move(o));
  }
  return out;
}

std::optional<double> number(const json::value& v) {
  if (v.is_double())
    return v.as_double();
  if (v.is_int64())
    return static_cast<double>(v.as_int64());
  if (v.is_uint64())
    return static_cast<double>(v.as_uint64());
  return std::nullopt;
}

}  // namespace

std::optional<json::object> to_medical_history(std::string_view rut, std::string_view body) {
  auto o = parse_object(body);
  if (!o)
    return std::nullopt;
  const json::array* list = array_field(*o, "consultations");
  if (!list)
    return std::nullopt;
  auto consultations =
      project(*list, {"id", "date", "doctor", "specialty", "diagnosis", "treatment"});
  if (!consultations)
    return std::nullopt;
  json::object out{{"patient_rut", rut}, {"count", consultations->size()}};
  out["consultations"] = std::move(*consultations);
  return out;
}

std::optional<json::object> to_doctors(std::string_view specialty, std::string_view body) {
  auto o = parse_object(body);
  if (!o)
    return std::nullopt;
  const json::array* list = array_field(*o, "doctors");
  if (!list)
    return std::nullopt;
  auto doctors = project(*list, {"id", "name", "specialty", "available"});
  if (!doctors)
    return std::nullopt;
  json::object out;
  out["specialty"] =
      specialty.empty() ? json::value(nullptr) : json::value(json::string(specialty));
  out["doctors"] = std::move(*doctors);
  return out;
}

std::optional<json::object> to_patient(std::string_view body) {
  auto o = parse_object(body);
  if (!o || !o->contains("rut"))
    return std::nullopt;
  json::object out;
  for (auto k : {"rut", "name", "birth_date", "email", "phone", "insurance"})
    out[k] = field(*o, k);
  return out;
}

std::optional<json::object> to_payments(std::string_view rut, std::string_view payments_body,
                                        std::optional<std::string_view> invoices_body) {
  auto p = parse_object(payments_body);
  if (!p)
    return std::nullopt;
  const json::array* plist = array_field(*p, "payments");
  if (!plist)
    return std::nullopt;
  auto payments = project(*plist, {"id", "date", "amount", "concept", "status"});
  if (!payments)
    return std::nullopt;
  json::object out{{"patient_rut", rut}};
  out["payments"] = std::move(*payments);
  if (!invoices_body) {
    out["pending_invoices"] = nullptr;
    out["total_debt"] = nullptr;
    out["degraded"] = json::array{"invoices unavailable"};
    return out;
  }
  auto inv = parse_object(*invoices_body);
  if (!inv)
    return std::nullopt;
  const json::array* ilist = array_field(*inv, "invoices");
  if (!ilist)
    return std::nullopt;
  json::array pending;
  // Amounts are usually whole pesos: keep them integers (a double would print as 2E4).
  int64_t debt_int = 0;
  double debt = 0.0;
  bool integral = true;
  for (const auto& item : *ilist) {
    if (!item.is_object())
      return std::nullopt;
    const auto& i = item.as_object();
    const json::value status = field(i, "status");
    if (!status.is_string() || status.as_string() != "pending")
      continue;
    const auto amount = number(field(i, "amount"));
    if (!amount)
      return std::nullopt;  // a debt we cannot add up is not a debt we report
    const json::value raw = field(i, "amount");
    debt += *amount;
    if (integral && raw.is_int64() &&
        !__builtin_add_overflow(debt_int, raw.as_int64(), &debt_int)) {
      // still exact
    } else {
      integral = false;
    }
    pending.push_back(json::object{{"id", field(i, "id")},
                                   {"issued", field(i, "issued")},
                                   {"due", field(i, "due")},
                                   {"amount", raw}});
  }
  out["pending_invoices"] = std::move(pending);
  if (integral)
    out["total_debt"] = debt_int;
  else
    out["total_debt"] = debt;
  return out;
}

}  // namespace medgate::gateway
