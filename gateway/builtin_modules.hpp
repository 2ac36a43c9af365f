// medgate's own endpoints, as modules the Gateway binds before any other:
//   /health, /health/{liveness,startup,readiness}   probes (every listener); /health's
//                                                   detail needs what operator_refusal asks
//   /status                                         configuration and uptime (operator)
//   /metrics                                        Prometheus text (operator)
//   /admin/breakers/...                             breaker actions, admin token (operator)
#pragma once

#include <memory>
#include <vector>

#include "gateway/api_module.hpp"

namespace medgate::gateway {

class Gateway;

// In the order their route labels follow "unmatched": /health, /status, /metrics, /admin.
[[nodiscard]] std::vector<std::unique_ptr<ApiModule>> make_builtin_modules(Gateway& gateway);

}  // namespace medgate::gateway
