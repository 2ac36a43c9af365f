// The portal API's description (/openapi.json) against what medgate really answers: every
// documented path, method and status is provoked here and must come back as documented;
// a provoked answer the description lacks fails, and so does a route of medgate's that the
// description does not name. The validator run (swagger-parser) is ctest's openapi_valid.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "tests/integration/gateway_fixture.hpp"
#include "tests/support/cdp_browser.hpp"
#include "tests/support/shipped_config.hpp"
#include "tests/support/token_kit.hpp"

namespace medgate::testing {
namespace {

using auth::Role;
namespace json = boost::json;

class GatewayOpenApi : public GatewayFixture {
 protected:
  void SetUp() override {
    GatewayFixture::SetUp();
    kit_ = std::make_unique<TokenKit>(dir_);
    serve_service_docs();

    gateway_port_ = free_port();
    std::ofstream(dir_ + "/medgate.yaml")
        << "listen: { address: 127.0.0.1, port: " << gateway_port_ << " }\n"
        << "threads: 1\n"
        << "admin: { token: " << kToken << " }\n"
        << "access_log: { path: " << dir_ << "/access.log }\n"
        << "auth:\n"
        << kit_->verifier_yaml() << shipped_access_rules(false) << "audit_log: { path: " << dir_
        << "/audit.jsonl }\n"
        << "dashboard: { refresh: 1s }\n"
        << "upstreams:\n"
        << "  medical:\n"
        << "    endpoints: [ \"" << upstream_url(primary_port_) << "\" ]\n"
        << "    retry: { attempts: 1 }\n"
        << "    write_timeout: 1s\n"
        << "  administrative:\n"
        << "    endpoints: [ \"" << upstream_url(replica_port_) << "\" ]\n"
        << "    retry: { attempts: 1 }\n"
        << "routes:\n"
        << "  - { prefix: /api/medical/, upstream: medical, strip_prefix: /api/medical }\n"
        << "  - { prefix: /api/admin/, upstream: administrative, strip_prefix: /api/admin }\n";
    gateway_ =
        std::make_unique<ChildProcess>(std::vector<std::string>{binary_dir() + "/apps/medgate",
                                                                "--config", dir_ + "/medgate.yaml"},
                                       dir_ + "/medgate.log");
    ASSERT_TRUE(wait_for_http(gw("/health/liveness"), std::chrono::seconds(10))) << gateway_->log();
  }

  [[nodiscard]] std::string as(const std::string& subject, auth::RoleSet roles) const {
    return kit_->bearer(subject, roles);
  }
  long call(const std::string& method, const std::string& path, const std::string& bearer,
            const std::string& body = "") {
    clients::CurlRequest r{.method = method, .url = gw(path), .body = body};
    if (!bearer.empty())
      r.headers.push_back({"Authorization", bearer});
    if (!body.empty())
      r.headers.push_back({"Content-Type", "application/json"});
    return clients::curl_perform(r).status;
  }
  void breaker(const std::string& upstream, const std::string& action) {
    ASSERT_EQ(
        call("POST", "/admin/breakers/" + upstream + "/" + action, std::string("Bearer ") + kToken),
        200);
  }

  std::unique_ptr<TokenKit> kit_;
};

TEST_F(GatewayOpenApi, EveryDocumentedAnswerIsWhatMedgateAnswersAndNothingIsLeftOut) {
  const auto spec_text = get("/openapi.json");
  ASSERT_EQ(spec_text.status, 200);
  const json::object spec = json::parse(spec_text.body).as_object();

  // (method, documented path, status) -> a way to provoke it; each returns what came back.
  const std::string a = as("11111111-1", {Role::patient});
  const std::string doctor = as("dr-1", {Role::doctor});
  const std::string nurse = as("nurse-1", {Role::nurse});
  const std::string staff = as("staff-1", {Role::administrative});
  const std::string c = R"({"patient_rut":"11111111-1","doctor_id":1,"date":"2026-11-29",)"
                        R"("diagnosis":"x","treatment":"y"})";
  using Key = std::tuple<std::string, std::string, int>;
  std::map<Key, std::function<long()>> cases;
  auto add = [&](const char* m, const char* p, int s, std::function<long()> f) {
    cases[{m, p, s}] = std::move(f);
  };
  // `staff`: a role the route allows besides the patient (for the 400 and the 404).
  auto portal = [&](const char* p, const std::string& ok, const char* upstream, bool has404,
                    const std::string& staff_token) {
    const std::string base = std::string(p).substr(0, std::string(p).find('{'));
    add("get", p, 200, [=, this] { return call("GET", ok, a); });
    add("get", p, 401, [=, this] { return call("GET", ok, ""); });
    if (base != "/api/doctors") {
      add("get", p, 400, [=, this] { return call("GET", base + "11111111-2", staff_token); });
      add("get", p, 403, [=, this] { return call("GET", base + "22222222-2", a); });
    }
    if (has404)
      add("get", p, 404, [=, this] { return call("GET", base + "22222222-2", staff_token); });
    add("get", p, 503, [=, this] {
      breaker(upstream, "force-open");
      const long s = call("GET", ok, a);
      breaker(upstream, "reset");
      return s;
    });
  };
  portal("/api/medical-history/{rut}", "/api/medical-history/11111111-1", "medical", false, doctor);
  portal("/api/doctors", "/api/doctors?specialty=cardiology", "medical", false, doctor);
  portal("/api/patient/{rut}", "/api/patient/11111111-1", "administrative", true, doctor);
  portal("/api/payments/{rut}", "/api/payments/11111111-1", "administrative", false, staff);
  const std::string overview = "/api/patient-overview/11111111-1";
  add("get", "/api/patient-overview/{rut}", 200, [=, this] { return call("GET", overview, a); });
  add("get", "/api/patient-overview/{rut}", 401, [=, this] { return call("GET", overview, ""); });
  add("get", "/api/patient-overview/{rut}", 403,
      [=, this] { return call("GET", "/api/patient-overview/22222222-2", a); });

  const std::string consultations = "/api/medical/patients/11111111-1/consultations";
  add("get", "/api/medical/{path}", 200, [&] { return call("GET", consultations, doctor); });
  add("get", "/api/medical/{path}", 401, [&] { return call("GET", consultations, ""); });
  add("get", "/api/medical/{path}", 403,
      [&] { return call("GET", "/api/medical/patients/22222222-2/consultations", a); });
  add("post", "/api/medical/{path}", 201, [&] {
    fault(primary_port_, "status:201", 1);
    return call("POST", "/api/medical/consultations", doctor, c);
  });
  add("post", "/api/medical/{path}", 401,
      [&] { return call("POST", "/api/medical/consultations", "", c); });
  add("post", "/api/medical/{path}", 403,
      [&] { return call("POST", "/api/medical/consultations", nurse, c); });
  add("post", "/api/medical/{path}", 504, [&] {
    fault(primary_port_, "reset", 1);  // the answer is lost after the request went out
    return call("POST", "/api/medical/consultations", doctor, c);
  });
  add("get", "/api/admin/{path}", 200,
      [&] { return call("GET", "/api/admin/patients/11111111-1", staff); });
  add("get", "/api/admin/{path}", 401,
      [&] { return call("GET", "/api/admin/patients/11111111-1", ""); });
  add("get", "/api/admin/{path}", 403,
      [&] { return call("GET", "/api/admin/patients/22222222-2", a); });

  add("get", "/health", 200, [&] { return call("GET", "/health", ""); });
  add("get", "/health", 503, [&] {
    breaker("medical", "force-open");
    breaker("administrative", "force-open");
    const long s = call("GET", "/health", "");
    breaker("medical", "reset");
    breaker("administrative", "reset");
    return s;
  });
  for (const char* p : {"/health/liveness", "/health/readiness", "/health/startup", "/status",
                        "/metrics", "/dashboard", "/docs", "/openapi.json"})
    add("get", p, 200, [this, p] { return call("GET", p, ""); });
  const std::string action = "/admin/breakers/{upstream}/{action}";
  add("post", action.c_str(), 200, [&] {
    return call("POST", "/admin/breakers/medical/reset", std::string("Bearer ") + kToken);
  });
  add("post", action.c_str(), 401,
      [&] { return call("POST", "/admin/breakers/medical/reset", ""); });
  add("post", action.c_str(), 404, [&] {
    return call("POST", "/admin/breakers/nowhere/reset", std::string("Bearer ") + kToken);
  });

  // What the description says.
  std::set<Key> documented;
  for (const auto& [path, item] : spec.at("paths").as_object())
    for (const auto& [method, op] : item.as_object())
      for (const auto& [status, _] : op.at("responses").as_object())
        documented.insert({std::string(method), std::string(path), std::stoi(std::string(status))});

  for (const auto& key : documented) {
    const auto& [m, p, s] = key;
    const auto it = cases.find(key);
    if (it == cases.end()) {
      ADD_FAILURE() << "documented but never exercised: " << m << " " << p << " " << s;
      continue;
    }
    EXPECT_EQ(it->second(), s) << m << " " << p << " should answer " << s;
  }
  for (const auto& [key, _] : cases)
    EXPECT_TRUE(documented.count(key))
        << "medgate answers " << std::get<0>(key) << " " << std::get<1>(key) << " "
        << std::get<2>(key) << " but the description does not say so";

  // Every route medgate has (its metrics' route labels) is in the description.
  const std::string metrics = get("/metrics").body;
  std::set<std::string> labels;
  for (size_t at = metrics.find("medgate_requests_total{"); at != std::string::npos;
       at = metrics.find("medgate_requests_total{", at + 1)) {
    const size_t r = metrics.find("route=\"", at);
    labels.insert(metrics.substr(r + 7, metrics.find('"', r + 7) - r - 7));
  }
  EXPECT_GT(labels.size(), 8u);
  for (const auto& label : labels) {
    if (label == "unmatched")
      continue;
    bool named = false;
    for (const auto& [path, _] : spec.at("paths").as_object())
      named = named || path == label || std::string_view(path).starts_with(label + "/") ||
              (label.ends_with("/") && std::string_view(path).starts_with(label));
    EXPECT_TRUE(named) << "medgate routes " << label << " but the description does not name it";
  }
}

// /docs in a real browser: Swagger UI, served by medgate itself, renders every operation of
// the description (no CDN: the page's CSP allows only medgate's own scripts).
TEST_F(GatewayOpenApi, DocsRenderInChromium) {
  if (!CdpBrowser::available())
    FAIL() << "chromium is not installed (scripts/test installs it)";
  const json::object spec = json::parse(get("/openapi.json").body).as_object();
  size_t operations = 0;
  for (const auto& [path, item] : spec.at("paths").as_object())
    operations += item.as_object().size();
  CdpBrowser browser;
  browser.navigate(gw("/docs"));
  ASSERT_TRUE(browser.wait_for(
      "document.querySelectorAll('.opblock').length === " + std::to_string(operations),
      std::chrono::seconds(20)))
      << browser.eval("document.body.innerText.slice(0, 500)").as_string();
  EXPECT_TRUE(
      browser.eval("document.body.innerText.includes('/api/medical-history/{rut}')").as_bool());
  const std::string shots = binary_dir() + "/screenshots";
  std::filesystem::create_directories(shots);
  browser.screenshot(shots + "/docs.png");
}

}  // namespace
}  // namespace medgate::testing
