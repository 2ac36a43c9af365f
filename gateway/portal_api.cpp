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
Request upstream_get(const Request& downstream, std::string target) {
  Request r{http::verb::get, target, 11};
  for (auto field : {http::field::accept_language}) {
    if (auto it = downstream.find(field); it != downstream.end())
      r.set(field, it->value());
  }
  r.set(http::field::accept, "application/json");
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

// Adds the degraded-answer markers when the data came from a last-good copy.
void mark_stale(json::object& body, Response& res, const Response& from) {
  body["stale"] = true;
  if (auto it = from.find(http::field::age); it != from.end()) {
    res.set(http::field::age, it->value());
    body["stale_age_seconds"] = std::atoi(std::string(it->value()).c_str());
  }
  res.set("X-Medgate-Stale", "true");
}

}  // namespace

asio::awaitable<Response> Gateway::portal_api(Request req, std::string_view path, ThreadContext& tc,
                                              RequestInfo& info) {
  const unsigned v = req.version();
  const bool ka = req.keep_alive() && !draining();
  if (req.method() != http::verb::get && req.method() != http::verb::head)
    co_return error_response(405, "method_not_allowed", "the portal API is read-only", v, ka);

  Upstream* medical = upstreams_.find(cfg_.medical_upstream);
  Upstream* admin = upstreams_.find(cfg_.admin_upstream);

  // Turns an upstream reply into the portal's answer with `transform`, or passes on the
  // upstream's own 4xx, or the gateway's explicit 5xx when the upstream is unavailable.
  auto finish = [&](Reply& reply, auto&& transform) -> Response {
    const unsigned status = reply.response.result_int();
    if (!reply.ok || status >= 500) {
      reply.response.keep_alive(ka);
      return std::move(reply.response);
    }
    if (status == 404)
      return error_response(404, "not_found", "no such patient or resource", v, ka);
    if (status >= 400) {
      reply.response.keep_alive(ka);
      return std::move(reply.response);
    }
    std::optional<json::object> body = transform(reply.response.body());
    if (!body)
      return error_response(502, "bad_upstream_response",
                            "the upstream answered in an unexpected shape", v, ka);
    Response res = json_response(200, *body, v, ka);
    if (reply.stale) {
      mark_stale(*body, res, reply.response);
      res.body() = to_readable_json(*body);
      res.prepare_payload();
    }
    return res;
  };

  auto need_rut = [&](std::string_view prefix) -> std::optional<std::string> {
    return domain::normalize_rut(path.substr(prefix.size()));
  };
  auto bad_rut = [&] {
    return json_response(400,
                         {{"error", "invalid_rut"},
                          {"field", "rut"},
                          {"message", "RUT must look like 12345678-5 with a valid check digit"}},
                         v, ka);
  };
  auto missing_upstream = [&](std::string_view name) {
    return error_response(503, "upstream_not_configured",
                          "no upstream named '" + std::string(name) + "'", v, ka);
  };

  if (path.starts_with("/api/medical-history/")) {
    info.route = kMedicalHistory;
    auto rut = need_rut("/api/medical-history/");
    if (!rut)
      co_return bad_rut();
    if (!medical)
      co_return missing_upstream(cfg_.medical_upstream);
    auto reply = co_await call_upstream(
        *medical, upstream_get(req, "/patients/" + *rut + "/consultations"), tc, info);
    co_return finish(reply, [&](std::string_view b) { return to_medical_history(*rut, b); });
  }
  if (path == "/api/doctors") {
    info.route = kDoctors;
    auto specialty = query_param(query_of(req.target()), "specialty");
    if (!specialty || specialty->size() > 64)
      co_return json_response(400,
                              {{"error", "invalid_parameter"},
                               {"field", "specialty"},
                               {"message", "specialty must be at most 64 characters"}},
                              v, ka);
    if (!medical)
      co_return missing_upstream(cfg_.medical_upstream);
    std::string target = "/doctors";
    if (!specialty->empty())
      target += "?specialty=" + encode_query_value(*specialty);
    auto reply = co_await call_upstream(*medical, upstream_get(req, target), tc, info);
    co_return finish(reply, [&](std::string_view b) { return to_doctors(*specialty, b); });
  }
  if (path.starts_with("/api/patient/")) {
    info.route = kPatient;
    auto rut = need_rut("/api/patient/");
    if (!rut)
      co_return bad_rut();
    if (!admin)
      co_return missing_upstream(cfg_.admin_upstream);
    auto reply = co_await call_upstream(*admin, upstream_get(req, "/patients/" + *rut), tc, info);
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
  auto [payments, invoices] = co_await (
      call_upstream(*admin, upstream_get(req, "/patients/" + *rut + "/payments"), tc, info) &&
      call_upstream(*admin, upstream_get(req, "/patients/" + *rut + "/invoices"), tc,
                    invoices_info));
  info.attempts += invoices_info.attempts;
  const bool invoices_ok = invoices.ok && invoices.response.result_int() == 200;
  std::optional<std::string_view> invoices_body;
  if (invoices_ok)
    invoices_body = invoices.response.body();
  co_return finish(payments, [&](std::string_view b) {
    auto out = to_payments(*rut, b, invoices_body);
    if (out && invoices_ok && invoices.stale)
      (*out)["invoices_stale"] = true;
    return out;
  });
}

}  // namespace medgate::gateway
