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
             const auto url_node = m.required("url");
             std::string error;
             auto endpoint = medgate::clients::parse_http_url(url_node.as_nonempty_string(), error);
             if (!endpoint)
               url_node.fail(error);
             const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
                 m.get_duration("timeout", std::chrono::seconds(3), std::chrono::milliseconds(50),
                                std::chrono::minutes(1)));
             m.finish();
             parts.gateway = std::make_shared<GatewayClient>(*endpoint, timeout);
             auto security = std::make_shared<PortalSecuritySettings>();
             read_portal_security(root, *security);
             parts.security = std::move(security);
           },
       .routes = [&parts](medgate::db::DbPool& pool,
                          const ServiceConfig& cfg) { return portal_routes(pool, cfg, parts); }});
}
