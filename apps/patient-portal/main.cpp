// patient-portal: the patients' web app (port 3003). Appointments, accounts and sessions
// live in its own MySQL database; history and payments come only through medgate
// (`gateway.url`), with a short-lived token in the signed-in patient's name.
#include <cstdio>

#include "apps/patient-portal/portal_api.hpp"
#include "apps/service-kit/service_main.hpp"

int main(int argc, char** argv) {
  using namespace medgate::service;
  PortalParts parts;
  return service_main(
      argc, argv,
      {.name = "portal",
       .default_port = 3003,
       .migrations = portal_migrations(),
       .read_extra =
           [&parts](medgate::config::MapReader& root) {
             auto node = root.required("gateway");
             auto m = node.map();
             // `urls`: every medgate instance (calls are spread and fail over); `url`: one.
             std::vector<medgate::clients::HttpEndpoint> instances;
             auto add = [&instances](const medgate::config::Node& n) {
               std::string error;
               auto endpoint = medgate::clients::parse_http_url(n.as_nonempty_string(), error);
               if (!endpoint)
                 n.fail(error);
               instances.push_back(std::move(*endpoint));
             };
             if (auto urls = m.optional("urls")) {
               for (const auto& n : urls->items())
                 add(n);
               if (instances.empty() || instances.size() > 16)
                 urls->fail("between 1 and 16 medgate URLs");
             }
             if (auto url = m.optional("url"))
               add(*url);
             if (instances.empty())
               node.fail("gateway: set url (one medgate) or urls (several)");
             medgate::service::GatewayClientOptions options;
             options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
                 m.get_duration("timeout", std::chrono::seconds(3), std::chrono::milliseconds(50),
                                std::chrono::minutes(1)));
             options.connect_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
                 m.get_duration("connect_timeout", std::chrono::milliseconds(300),
                                std::chrono::milliseconds(10), std::chrono::seconds(10)));
             options.open_for = std::chrono::duration_cast<std::chrono::milliseconds>(
                 m.get_duration("open_for", std::chrono::seconds(2), std::chrono::milliseconds(10),
                                std::chrono::minutes(5)));
             options.max_idle = static_cast<uint32_t>(m.get_int("max_idle", 64, 0, 4096));
             m.finish();
             parts.gateway = std::make_shared<GatewayClient>(std::move(instances), options);
             auto security = std::make_shared<PortalSecuritySettings>();
             read_portal_security(root, *security);
             parts.security = std::move(security);
           },
       .routes = [&parts](medgate::db::DbPool& pool,
                          const ServiceConfig& cfg) { return portal_routes(pool, cfg, parts); }});
}
