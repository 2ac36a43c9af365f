// medical-service: consultations, diagnoses, treatments and doctor availability on MariaDB.
#include "apps/medical-service/medical_api.hpp"
#include "apps/service-kit/service_main.hpp"

int main(int argc, char** argv) {
  using namespace medgate::service;
  return service_main(argc, argv,
                      {.name = "medical",
                       .default_port = 5001,
                       .migrations = medical_migrations(),
                       .read_extra = {},
                       .access_rules = medical_access_rules(),
                       .routes = [](medgate::db::DbPool& pool, const ServiceConfig& cfg) {
                         return medical_routes(pool, cfg);
                       }});
}
