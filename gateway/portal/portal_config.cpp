#include "gateway/portal/portal_config.hpp"

namespace medgate::gateway {

ConfigSection portal_config_section(PortalConfig& out) {
  return {"portal", [&out](const config::Node& n) {
            auto p = n.map();
            out.medical_upstream = p.get_string("medical_upstream", out.medical_upstream);
            out.admin_upstream = p.get_string("admin_upstream", out.admin_upstream);
            p.finish();
          }};
}

}  // namespace medgate::gateway
