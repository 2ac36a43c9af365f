// The SLA dashboard as a module medgate's main hands the Gateway: /dashboard (the page and
// its files, public: no data in them) and /dashboard/api/state (what /health needs to be
// read: loopback, or a token the operator rule admits). Its DashboardCollector gathers
// from Prometheus, the monitors and the drill reports on a thread of its own, apart from
// request serving: a request reads the last collection and never waits on a monitor.
#pragma once

#include <memory>

#include "gateway/api_module.hpp"
#include "gateway/dashboard_config.hpp"

namespace medgate::gateway {

// Its collector starts when the Gateway binds it (it samples the Gateway's own counters).
[[nodiscard]] std::unique_ptr<ApiModule> make_dashboard_module(DashboardConfig cfg);

}  // namespace medgate::gateway
