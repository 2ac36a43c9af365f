// admin-service: patients, payments, insurance and invoices on PostgreSQL.
#include "apps/admin-service/admin_api.hpp"
#include "apps/service-kit/service_main.hpp"

int main(int argc, char** argv) {
  using namespace medgate::service;
  return service_main(argc, argv,
                      {.name = "administrative",
                       .default_port = 3012,
                       .migrations = admin_migrations(),
                       .read_extra = {},
                       .access_rules = admin_access_rules(),
                       .routes = [](medgate::db::DbPool& pool, const ServiceConfig& cfg) {
                         return admin_routes(pool, cfg);
                       }});
}
