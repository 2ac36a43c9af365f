// The portal API module (see portal_api.hpp).
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "clients/url_query.hpp"
#include "domain/rut.hpp"
#include "gateway/http_util.hpp"
#include "gateway/portal/portal_api.hpp"
#include "gateway/portal/portal_transform.hpp"
#include "gateway/upstream_call.hpp"

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
  // The services check the caller again (defence in depth): they get the caller's token.
  if (auto v = downstream.fields.find(http::field::authorization))
    r.fields.add(http::field::authorization, "Authorization", *v);
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

enum PortalRoute : size_t { kMedicalHistory, kDoctors, kPayments, kPatient, kRouteCount };

class PortalApi final : public ApiModule {
 public:
  PortalApi(std::string medical, std::string admin)
      : medical_name_(std::move(medical)), admin_name_(std::move(admin)) {}

  std::vector<std::string> route_labels() const override {
    return {"/api/medical-history", "/api/doctors", "/api/payments", "/api/patient"};
  }

  void bind(const ModuleContext& ctx) override {
    medical_ = ctx.upstreams.find(medical_name_);
    admin_ = ctx.upstreams.find(admin_name_);
  }

  std::optional<size_t> match(std::string_view path) const override {
    if (path.starts_with("/api/medical-history/"))
      return kMedicalHistory;
    if (path == "/api/doctors")
      return kDoctors;
    if (path.starts_with("/api/payments/"))
      return kPayments;
    if (path.starts_with("/api/patient/"))
      return kPatient;
    return std::nullopt;
  }

  asio::awaitable<void> handle(const WireRequest& req, std::string_view path, size_t route,
                               CallEnv& env, RequestInfo& info, WireResponse& out) override {
    out = co_await answer(req, path, static_cast<PortalRoute>(route), env, info);
  }

 private:
  asio::awaitable<WireResponse> answer(const WireRequest& req, std::string_view path,
                                       PortalRoute route, CallEnv& env, RequestInfo& info);

  const std::string medical_name_;
  const std::string admin_name_;
  Upstream* medical_ = nullptr;
  Upstream* admin_ = nullptr;
};

asio::awaitable<WireResponse> PortalApi::answer(const WireRequest& req, std::string_view path,
                                                PortalRoute route, CallEnv& env,
                                                RequestInfo& info) {
  if (req.method != http::verb::get && req.method != http::verb::head)
    co_return error_response(405, "method_not_allowed", "the portal API is read-only");

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
  auto call = [&](Upstream& up, const WireRequest& upstream_req, RequestInfo& i, Reply& reply) {
    return call_upstream(up, upstream_req, upstream_req.target, env, i, reply);
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

  switch (route) {
    case kMedicalHistory: {
      auto rut = need_rut("/api/medical-history/");
      if (!rut)
        co_return bad_rut();
      if (!medical_)
        co_return missing_upstream(medical_name_);
      const WireRequest upstream_req = upstream_get(req, "/patients/" + *rut + "/consultations");
      Reply reply;
      co_await call(*medical_, upstream_req, info, reply);
      co_return finish(reply, [&](std::string_view b) { return to_medical_history(*rut, b); });
    }
    case kDoctors: {
      auto specialty = query_param(query_of(req.target), "specialty");
      if (!specialty || specialty->size() > 64)
        co_return json_response(400, {{"error", "invalid_parameter"},
                                      {"field", "specialty"},
                                      {"message", "specialty must be at most 64 characters"}});
      if (!medical_)
        co_return missing_upstream(medical_name_);
      std::string target = "/doctors";
      if (!specialty->empty())
        target += "?specialty=" + encode_query_value(*specialty);
      const WireRequest upstream_req = upstream_get(req, target);
      Reply reply;
      co_await call(*medical_, upstream_req, info, reply);
      co_return finish(reply, [&](std::string_view b) { return to_doctors(*specialty, b); });
    }
    case kPatient: {
      auto rut = need_rut("/api/patient/");
      if (!rut)
        co_return bad_rut();
      if (!admin_)
        co_return missing_upstream(admin_name_);
      const WireRequest upstream_req = upstream_get(req, "/patients/" + *rut);
      Reply reply;
      co_await call(*admin_, upstream_req, info, reply);
      co_return finish(reply, [&](std::string_view b) { return to_patient(b); });
    }
    case kPayments:
    case kRouteCount:
      break;
  }
  // /api/payments/{rut}: payments and invoices, fetched side by side.
  auto rut = need_rut("/api/payments/");
  if (!rut)
    co_return bad_rut();
  if (!admin_)
    co_return missing_upstream(admin_name_);
  RequestInfo invoices_info = info;
  const WireRequest payments_req = upstream_get(req, "/patients/" + *rut + "/payments");
  const WireRequest invoices_req = upstream_get(req, "/patients/" + *rut + "/invoices");
  Reply payments;
  Reply invoices;
  co_await (call(*admin_, payments_req, info, payments) &&
            call(*admin_, invoices_req, invoices_info, invoices));
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

}  // namespace

std::unique_ptr<ApiModule> make_portal_api(const PortalConfig& cfg) {
  return std::make_unique<PortalApi>(cfg.medical_upstream, cfg.admin_upstream);
}

}  // namespace medgate::gateway
