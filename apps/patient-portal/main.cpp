// patient-portal: the patients' web app (port 3003). Appointments, accounts and sessions
// live in its own MySQL database; history and payments come only through medgate
// (`gateway.url`), with a short-lived token in the signed-in patient's name.
#include <cstdio>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "apps/patient-portal/portal_api.hpp"
#include "apps/service-kit/service_main.hpp"

int main(int argc, char** argv) {
  using namespace medgate::service;
  PortalParts parts;
  std::shared_ptr<medgate::service::GatewayClient> gateway;  // parts.gateway, before it serves
  return service_main(
      argc, argv,
      {.name = "portal",
       .default_port = 3003,
       .migrations = portal_migrations(),
       .read_extra =
           [&parts, &gateway](medgate::config::MapReader& root) {
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
             gateway = std::make_shared<GatewayClient>(std::move(instances), options);
             parts.gateway = gateway;
             auto security = std::make_shared<PortalSecuritySettings>();
             read_portal_security(root, *security);
             parts.security = std::move(security);
           },
       .routes =
           [&parts, &gateway](medgate::db::DbPool& pool, const ServiceConfig& cfg) {
             // medgate's instances by name (compose: middleware, middleware-2): looked up now
             // and every 5 s, so an instance that comes back at another address is followed.
             auto log = std::make_shared<spdlog::logger>(
                 "portal-resolver", std::make_shared<spdlog::sinks::stderr_sink_mt>());
             log->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
             gateway->resolve_names(std::chrono::seconds(5), [log](const std::string& line) {
               log->info("medgate address: {}", line);
             });
             return portal_routes(pool, cfg, parts);
           }});
}
