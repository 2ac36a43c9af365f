// `portal:` in medgate's configuration: the upstreams behind the portal API.
#pragma once

#include <string>

#include "gateway/gateway_config.hpp"

namespace medgate::gateway {

struct PortalConfig {
  std::string medical_upstream = "medical";
  std::string admin_upstream = "administrative";
};

// The `portal:` section for load_gateway_config, read into `out` (which must outlive the
// load).
[[nodiscard]] ConfigSection portal_config_section(PortalConfig& out);

}  // namespace medgate::gateway
