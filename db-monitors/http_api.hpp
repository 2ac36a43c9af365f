// The monitor's HTTP API, served through the HTTP core (http/server.hpp):
//   GET  /status                 the topology record and every node's last check
//   GET  /primary                200 + the elected primary while it takes writes, else 503
//   GET  /primary/{node}         200 only on that node while it is the serving primary
//   GET  /replica                200 + streaming replicas when there is one, else 503
//   GET  /replica/{node}         200 only while that node streams from the primary
//   GET  /role/{node}            how that node may start (its start wrapper asks), from the
//                                record as stored now: key=value lines, or ?format=json;
//                                503 while the record cannot be read
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

#include <spdlog/logger.h>

#include "db-monitors/event_log.hpp"
#include "db-monitors/monitor.hpp"
#include "db-monitors/record_reader.hpp"
#include "http/beast_site.hpp"
#include "http/router.hpp"

namespace medgate::dbmon {

using MonitorRouter = httpd::Router<httpd::RequestContext>;

// `records` answers GET /role from the store itself.
[[nodiscard]] MonitorRouter monitor_routes(Monitor& monitor, EventLog& events, std::string token,
                                           std::shared_ptr<RecordReader> records);

// The routes as a site for httpd::Server: 404/405 for what no route answers, 500 for a
// handler that throws, and a JSON line per request at info level in `log`.
class MonitorApi final : public httpd::BeastSite {
 public:
  MonitorApi(MonitorRouter routes, std::shared_ptr<spdlog::logger> log)
      : routes_(std::move(routes)), log_(std::move(log)) {}

 private:
  boost::asio::awaitable<httpd::Response> serve(httpd::Request& req,
                                                const httpd::BeastExchange& exchange) override;

  MonitorRouter routes_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace medgate::dbmon
