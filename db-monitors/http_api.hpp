// The monitor's HTTP API (served by service-kit's HttpService):
//   GET  /status                 the topology record and every node's last check
//   GET  /primary                200 + the elected primary while it takes writes, else 503
//   GET  /primary/{node}         200 only on that node while it is the serving primary
//   GET  /replica                200 + streaming replicas when there is one, else 503
//   GET  /replica/{node}         200 only while that node streams from the primary
//   GET  /events?after=SEQ&limit=N   recent events, oldest first
//   GET  /metrics                Prometheus text format
//   GET  /health                 the monitor process itself
//   POST /switchover {"candidate": NAME?}   planned, lossless change of primary
//   POST /failover   {"candidate": NAME?}   promote while the primary is down, overriding
//                                           the lag and asynchronous-mode refusals
//   POST /ack                    allow automatic failover again (flap guard, failed promotion)
//   POST /maintenance {"on": bool}
// POSTs need "Authorization: Bearer TOKEN" (api.token); without a configured token they are
// refused.
#pragma once

#include <memory>
#include <string>

#include "apps/service-kit/http_service.hpp"
#include "db-monitors/event_log.hpp"
#include "db-monitors/monitor.hpp"

namespace medgate::dbmon {

[[nodiscard]] service::Router monitor_routes(Monitor& monitor, EventLog& events, std::string token);

}  // namespace medgate::dbmon
