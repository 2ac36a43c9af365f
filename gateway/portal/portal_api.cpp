// The portal API module (see portal_api.hpp).
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
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

// One part of the portal's answer: a route's own answer, or one section of the overview.
struct Part {
  unsigned status = 200;
  json::object body;
  bool stale = false;
  std::string age;  // the stale copy's Age header
  // An answer not ours to shape (the upstream's 4xx, medgate's explicit 5xx with its
  // Retry-After): passed on whole by a route; its JSON body becomes an overview section.
  std::optional<WireResponse> passed_on;
};

Part error_part(unsigned status, std::string_view code, std::string_view message) {
  return {.status = status, .body = {{"error", code}, {"message", message}}};
}

Part passed_on(WireResponse r) {
  return {.status = r.status, .passed_on = std::move(r)};
}

// The body of a passed-on answer, as an overview section shows it: its JSON, or a
// description when it is not a JSON object.
json::object passed_on_body(const WireResponse& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (!ec && v.is_object())
    return std::move(v.as_object());
  return {{"error", "upstream_error"},
          {"message", "the upstream answered " + std::to_string(r.status)}};
}

// A stale part says so in its body ("stale", "stale_age_seconds"): in the overview the body
// is all a caller sees of it.
void mark_stale(Part& p) {
  if (!p.stale)
    return;
  p.body["stale"] = true;
  if (!p.age.empty())
    p.body["stale_age_seconds"] = std::atoi(p.age.c_str());
}

// A route's own answer: a stale one says so in its headers as well.
WireResponse to_response(Part& p) {
  if (p.passed_on)
    return std::move(*p.passed_on);
  if (!p.stale)
    return json_response(p.status, p.body);
  mark_stale(p);
  WireResponse res = json_response(p.status, p.body);
  if (!p.age.empty())
    res.fields.add(http::field::age, "Age", p.age);
  res.fields.add("X-Medgate-Stale", "true");
  return res;
}

enum PortalRoute : size_t {
  kMedicalHistory,
  kDoctors,
  kPayments,
  kPatient,
  kOverview,
  kRouteCount
};

class PortalApi final : public ApiModule {
 public:
  PortalApi(std::string medical, std::string admin)
      : medical_name_(std::move(medical)), admin_name_(std::move(admin)) {}

  std::vector<std::string> route_labels() const override {
    return {"/api/medical-history", "/api/doctors", "/api/payments", "/api/patient",
            "/api/patient-overview"};
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
    if (path.starts_with("/api/patient-overview/"))
      return kOverview;
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
  // One GET to `up` (configured as `name`), its answer shaped by `transform`.
  template <typename Transform>
  asio::awaitable<Part> fetch(Upstream* up, const std::string& name, const WireRequest& req,
                              std::string target, CallEnv& env, RequestInfo& info,
                              Transform transform);
  asio::awaitable<Part> history(const WireRequest& req, const std::string& rut, CallEnv& env,
                                RequestInfo& info);
  asio::awaitable<Part> doctors(const WireRequest& req, const std::string& specialty, CallEnv& env,
                                RequestInfo& info);
  asio::awaitable<Part> patient(const WireRequest& req, const std::string& rut, CallEnv& env,
                                RequestInfo& info);
  asio::awaitable<Part> payments(const WireRequest& req, const std::string& rut, CallEnv& env,
                                 RequestInfo& info);
  asio::awaitable<WireResponse> overview(const WireRequest& req, const std::string& rut,
                                         CallEnv& env, RequestInfo& info);

  const std::string medical_name_;
  const std::string admin_name_;
  Upstream* medical_ = nullptr;
  Upstream* admin_ = nullptr;
};

// Turns an upstream reply into a part with `transform`, or passes on the upstream's own 4xx,
// or medgate's explicit 5xx when the upstream is unavailable.
template <typename Transform>
Part finish(Reply& reply, Transform&& transform) {
  const unsigned status = reply.response.status;
  if (!reply.ok || status >= 500 || (status >= 400 && status != 404))
    return passed_on(std::move(reply.response));
  if (status == 404)
    return error_part(404, "not_found", "no such patient or resource");
  std::optional<json::object> body = transform(std::string_view(reply.response.body));
  if (!body)
    return error_part(502, "bad_upstream_response", "the upstream answered in an unexpected shape");
  Part p{.body = std::move(*body), .stale = reply.stale};
  if (reply.stale)
    if (const auto age = reply.response.fields.find(http::field::age))
      p.age = std::string(*age);
  return p;
}

Part missing_upstream(std::string_view name) {
  return error_part(503, "upstream_not_configured",
                    "no upstream named '" + std::string(name) + "'");
}

template <typename Transform>
asio::awaitable<Part> PortalApi::fetch(Upstream* up, const std::string& name,
                                       const WireRequest& req, std::string target, CallEnv& env,
                                       RequestInfo& info, Transform transform) {
  if (!up)
    co_return missing_upstream(name);
  const WireRequest upstream_req = upstream_get(req, std::move(target));
  Reply reply;
  co_await call_upstream(*up, upstream_req, upstream_req.target, env, info, reply);
  co_return finish(reply, transform);
}

asio::awaitable<Part> PortalApi::history(const WireRequest& req, const std::string& rut,
                                         CallEnv& env, RequestInfo& info) {
  return fetch(medical_, medical_name_, req, "/patients/" + rut + "/consultations", env, info,
               [&rut](std::string_view b) { return to_medical_history(rut, b); });
}

asio::awaitable<Part> PortalApi::doctors(const WireRequest& req, const std::string& specialty,
                                         CallEnv& env, RequestInfo& info) {
  std::string target = "/doctors";
  if (!specialty.empty())
    target += "?specialty=" + encode_query_value(specialty);
  return fetch(medical_, medical_name_, req, std::move(target), env, info,
               [&specialty](std::string_view b) { return to_doctors(specialty, b); });
}

asio::awaitable<Part> PortalApi::patient(const WireRequest& req, const std::string& rut,
                                         CallEnv& env, RequestInfo& info) {
  return fetch(admin_, admin_name_, req, "/patients/" + rut, env, info,
               [](std::string_view b) { return to_patient(b); });
}

// Payments and invoices, fetched side by side.
asio::awaitable<Part> PortalApi::payments(const WireRequest& req, const std::string& rut,
                                          CallEnv& env, RequestInfo& info) {
  if (!admin_)
    co_return missing_upstream(admin_name_);
  RequestInfo invoices_info = info;
  const WireRequest payments_req = upstream_get(req, "/patients/" + rut + "/payments");
  const WireRequest invoices_req = upstream_get(req, "/patients/" + rut + "/invoices");
  Reply payments;
  Reply invoices;
  co_await (
      call_upstream(*admin_, payments_req, payments_req.target, env, info, payments) &&
      call_upstream(*admin_, invoices_req, invoices_req.target, env, invoices_info, invoices));
  info.attempts += invoices_info.attempts;
  const bool invoices_ok = invoices.ok && invoices.response.status == 200;
  std::optional<std::string_view> invoices_body;
  if (invoices_ok)
    invoices_body = invoices.response.body;
  co_return finish(payments, [&](std::string_view b) {
    auto out = to_payments(rut, b, invoices_body);
    if (out && invoices_ok && invoices.stale)
      (*out)["invoices_stale"] = true;
    return out;
  });
}

// Everything the portal's patient page shows, in one call: one token check and one unit of
// the caller's rate limit per page instead of four, and the services asked side by side.
// Each section carries its own status and body, as its own route would have answered; the
// answer is 200 whenever the RUT was valid, and says "degraded" when a section is not
// fresh data.
asio::awaitable<WireResponse> PortalApi::overview(const WireRequest& req, const std::string& rut,
                                                  CallEnv& env, RequestInfo& info) {
  RequestInfo history_info = info, payments_info = info, doctors_info = info;
  auto [p, h, pay, d] =
      co_await (patient(req, rut, env, info) && history(req, rut, env, history_info) &&
                payments(req, rut, env, payments_info) && doctors(req, "", env, doctors_info));
  info.attempts += history_info.attempts + payments_info.attempts + doctors_info.attempts;
  json::object sections;
  bool degraded = false;
  for (const auto& [name, part] : {std::pair<const char*, Part*>{"patient", &p},
                                   {"medical_history", &h},
                                   {"payments", &pay},
                                   {"doctors", &d}}) {
    if (part->passed_on)
      part->body = passed_on_body(*part->passed_on);
    mark_stale(*part);
    degraded = degraded || part->status != 200 || part->stale || part->body.contains("degraded");
    sections[name] = json::object{{"status", part->status}, {"body", std::move(part->body)}};
  }
  co_return json_response(200, {{"rut", rut}, {"degraded", degraded}, {"sections", sections}});
}

asio::awaitable<WireResponse> PortalApi::answer(const WireRequest& req, std::string_view path,
                                                PortalRoute route, CallEnv& env,
                                                RequestInfo& info) {
  if (req.method != http::verb::get && req.method != http::verb::head)
    co_return error_response(405, "method_not_allowed", "the portal API is read-only");
  auto bad_rut = [] {
    return json_response(400,
                         {{"error", "invalid_rut"},
                          {"field", "rut"},
                          {"message", "RUT must look like 12345678-5 with a valid check digit"}});
  };
  if (route == kDoctors) {
    auto specialty = query_param(query_of(req.target), "specialty");
    if (!specialty || specialty->size() > 64)
      co_return json_response(400, {{"error", "invalid_parameter"},
                                    {"field", "specialty"},
                                    {"message", "specialty must be at most 64 characters"}});
    Part part = co_await doctors(req, *specialty, env, info);
    co_return to_response(part);
  }
  // Every other route is its prefix and a RUT; a malformed one is refused before any upstream
  // call.
  static constexpr std::string_view kPrefix[] = {"/api/medical-history/", "", "/api/payments/",
                                                 "/api/patient/", "/api/patient-overview/"};
  const auto rut = domain::normalize_rut(path.substr(kPrefix[route].size()));
  if (!rut)
    co_return bad_rut();
  Part part;
  switch (route) {
    case kMedicalHistory:
      part = co_await history(req, *rut, env, info);
      break;
    case kPatient:
      part = co_await patient(req, *rut, env, info);
      break;
    case kPayments:
      part = co_await payments(req, *rut, env, info);
      break;
    case kOverview:
      co_return co_await overview(req, *rut, env, info);
    case kDoctors:
    case kRouteCount:
      break;
  }
  co_return to_response(part);
}

}  // namespace

std::unique_ptr<ApiModule> make_portal_api(const PortalConfig& cfg) {
  return std::make_unique<PortalApi>(cfg.medical_upstream, cfg.admin_upstream);
}

}  // namespace medgate::gateway
