// The portal's API (compatible with the system medgate replaces):
//   GET /api/medical-history/{rut}  -> medical  GET /patients/{rut}/consultations
//   GET /api/doctors?specialty=     -> medical  GET /doctors?specialty=
//   GET /api/patient/{rut}          -> admin    GET /patients/{rut}
//   GET /api/payments/{rut}         -> admin    GET /patients/{rut}/payments + /invoices
// A malformed RUT is refused before any upstream is called.
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "clients/url_query.hpp"
#include "domain/rut.hpp"
#include "gateway/gateway.hpp"
#include "gateway/http_util.hpp"
#include "gateway/portal_transform.hpp"

namespace medgate::gateway {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using namespace asio::experimental::awaitable_operators;

namespace {

// X-Request-Id is not copied: call_upstream adds it as the request is written.
WireRequest upstream_get(const WireRequest& downstream, std::string target) {
  WireRequest r;
  r.target = std::move(target);
  if (auto v = downstream.fields.find(http::field::accept_language))
    r.fields.add(http::field::accept_language, "Accept-Language", *v);
  r.fields.add(http::field::accept, "Accept", "application/json");
  return r;
}

// A query value, decoded: empty when absent, nullopt when malformed.
std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  const auto raw = clients::find_query_param(query, name);
  return raw ? clients::percent_decode(*raw) : std::optional<std::string>(std::string());
}

std::string encode_query_value(std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

// The portal's answer built from a last-good copy says so, in its body and its header.
WireResponse stale_json_response(json::object& body, const WireResponse& from) {
  body["stale"] = true;
  const auto age = from.fields.find(http::field::age);
  if (age)
    body["stale_age_seconds"] = std::atoi(std::string(*age).c_str());
  WireResponse res = json_response(200, body);
  if (age)
    res.fields.add(http::field::age, "Age", *age);
  res.fields.add("X-Medgate-Stale", "true");
  return res;
}

}  // namespace

asio::awaitable<WireResponse> Gateway::portal_api(const WireRequest& req, std::string_view path,
                                                  ThreadContext& tc, RequestInfo& info) {
  if (req.method != http::verb::get && req.method != http::verb::head)
    co_return error_response(405, "method_not_allowed", "the portal API is read-only");

  Upstream* medical = upstreams_.find(cfg_.medical_upstream);
  Upstream* admin = upstreams_.find(cfg_.admin_upstream);

  // Turns an upstream reply into the portal's answer with `transform`, or passes on the
  // upstream's own 4xx, or the gateway's explicit 5xx when the upstream is unavailable.
  auto finish = [&](Reply& reply, auto&& transform) -> WireResponse {
    const unsigned status = reply.response.status;
    if (!reply.ok || status >= 500 || (status >= 400 && status != 404))
      return std::move(reply.response);
    if (status == 404)
      return error_response(404, "not_found", "no such patient or resource");
    std::optional<json::object> body = transform(std::string_view(reply.response.body));
    if (!body)
      return error_response(502, "bad_upstream_response",
                            "the upstream answered in an unexpected shape");
    return reply.stale ? stale_json_response(*body, reply.response) : json_response(200, *body);
  };

  auto need_rut = [&](std::string_view prefix) -> std::optional<std::string> {
    return domain::normalize_rut(path.substr(prefix.size()));
  };
  auto bad_rut = [&] {
    return json_response(400,
                         {{"error", "invalid_rut"},
                          {"field", "rut"},
                          {"message", "RUT must look like 12345678-5 with a valid check digit"}});
  };
  auto missing_upstream = [&](std::string_view name) {
    return error_response(503, "upstream_not_configured",
                          "no upstream named '" + std::string(name) + "'");
  };

  if (path.starts_with("/api/medical-history/")) {
    info.route = kMedicalHistory;
    auto rut = need_rut("/api/medical-history/");
    if (!rut)
      co_return bad_rut();
    if (!medical)
      co_return missing_upstream(cfg_.medical_upstream);
    const WireRequest upstream_req = upstream_get(req, "/patients/" + *rut + "/consultations");
    Reply reply;
    co_await call_upstream(*medical, upstream_req, tc, info, reply);
    co_return finish(reply, [&](std::string_view b) { return to_medical_history(*rut, b); });
  }
  if (path == "/api/doctors") {
    info.route = kDoctors;
    auto specialty = query_param(query_of(req.target), "specialty");
    if (!specialty || specialty->size() > 64)
      co_return json_response(400, {{"error", "invalid_parameter"},
                                    {"field", "specialty"},
                                    {"message", "specialty must be at most 64 characters"}});
    if (!medical)
      co_return missing_upstream(cfg_.medical_upstream);
    std::string target = "/doctors";
    if (!specialty->empty())
      target += "?specialty=" + encode_query_value(*specialty);
    const WireRequest upstream_req = upstream_get(req, target);
    Reply reply;
    co_await call_upstream(*medical, upstream_req, tc, info, reply);
    co_return finish(reply, [&](std::string_view b) { return to_doctors(*specialty, b); });
  }
  if (path.starts_with("/api/patient/")) {
    info.route = kPatient;
    auto rut = need_rut("/api/patient/");
    if (!rut)
      co_return bad_rut();
    if (!admin)
      co_return missing_upstream(cfg_.admin_upstream);
    const WireRequest upstream_req = upstream_get(req, "/patients/" + *rut);
    Reply reply;
    co_await call_upstream(*admin, upstream_req, tc, info, reply);
    co_return finish(reply, [&](std::string_view b) { return to_patient(b); });
  }
  // /api/payments/{rut}
  info.route = kPayments;
  auto rut = need_rut("/api/payments/");
  if (!rut)
    co_return bad_rut();
  if (!admin)
    co_return missing_upstream(cfg_.admin_upstream);
  RequestInfo invoices_info = info;
  const WireRequest payments_req = upstream_get(req, "/patients/" + *rut + "/payments");
  const WireRequest invoices_req = upstream_get(req, "/patients/" + *rut + "/invoices");
  Reply payments;
  Reply invoices;
  co_await (call_upstream(*admin, payments_req, tc, info, payments) &&
            call_upstream(*admin, invoices_req, tc, invoices_info, invoices));
  info.attempts += invoices_info.attempts;
  const bool invoices_ok = invoices.ok && invoices.response.status == 200;
  std::optional<std::string_view> invoices_body;
  if (invoices_ok)
    invoices_body = invoices.response.body;
  co_return finish(payments, [&](std::string_view b) {
    auto out = to_payments(*rut, b, invoices_body);
    if (out && invoices_ok && invoices.stale)
      (*out)["invoices_stale"] = true;
    return out;
  });
}

}  // namespace medgate::gateway
