#include "gateway/health_checks.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "clients/connection_pool.hpp"

namespace medgate::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

void start_health_checks(Gateway& gateway, asio::io_context& io) {
  for (size_t ui = 0; ui < gateway.upstreams().all().size(); ++ui) {
    Upstream& up = *gateway.upstreams().all()[ui];
    const HealthCheckConfig hc = up.config().health_check;
    if (!hc.enabled)
      continue;
    for (size_t ei = 0; ei < up.size(); ++ei) {
      asio::co_spawn(
          io,
          [&gateway, &io, &up, ei, hc]() -> asio::awaitable<void> {
            EndpointState& ep = up.endpoint(ei);
            clients::PoolOptions opts;
            // A dead address fails its check in the upstream's connect timeout, not the whole
            // check timeout (a stopped container answers nothing; it does not refuse).
            opts.connect_timeout = std::min(hc.timeout, up.config().connect_timeout);
            opts.max_idle = 1;
            opts.max_response_body = 64 * 1024;
            clients::ConnectionPool pool(io.get_executor(), ep.endpoint, opts);
            asio::steady_timer timer(io);
            uint32_t ok_streak = 0, fail_streak = 0;
            uint32_t passes_in_trouble = 0;  // passing checks while out of traffic
            clients::WireRequest req;
            req.target = ep.endpoint.base_path + hc.path;
            req.fields.add(http::field::host, "Host", ep.endpoint.host_header);
            req.fields.add(http::field::user_agent, "User-Agent", "medgate-health-check");
            // The endpoint may answer "not answering" in time rather than not at all.
            req.fields.add("X-Medgate-Timeout-Ms", std::to_string(hc.timeout.count()));
            clients::WireResponse response;
            while (!gateway.draining()) {
              auto r = co_await pool.send(req, response, hc.timeout, true);
              const bool ok =
                  r.error == clients::SendError::none && response.status == hc.expect_status;
              if (ok) {
                fail_streak = 0;
                if (++ok_streak >= hc.healthy_threshold && !ep.health_ok.load()) {
                  ep.health_ok.store(true);
                  gateway.events().info("health check: upstream={} endpoint={} passing again",
                                        up.name(), ep.endpoint.url);
                  // The endpoint failed its checks and passes them again: the outage is over
                  // as far as we can tell, so probe now instead of waiting out open_for.
                  const std::string why = "health checks pass again on " + ep.endpoint.url;
                  ep.breaker.probe_now(why);
                  up.breaker.probe_now(why);
                }
                // Ejected or behind an open breaker by passive signals while its checks pass:
                // healthy_threshold passes in a row end that too (a failing probe opens the
                // breaker again, so a service that answers /health but fails requests costs
                // a few probes per cycle, never an outage of open_for or base_ejection).
                const bool out = ep.outlier.ejected() ||
                                 ep.breaker.state() == resilience::BreakerState::open ||
                                 up.breaker.state() == resilience::BreakerState::open;
                if (!out) {
                  passes_in_trouble = 0;
                } else if (++passes_in_trouble >= hc.healthy_threshold) {
                  passes_in_trouble = 0;
                  const std::string why = std::to_string(hc.healthy_threshold) +
                                          " health checks passed on " + ep.endpoint.url;
                  if (ep.outlier.reinstate())
                    gateway.events().info("endpoint reinstated: upstream={} endpoint={} ({})",
                                          up.name(), ep.endpoint.url, why);
                  ep.breaker.probe_now(why);
                  up.breaker.probe_now(why);
                }
              } else {
                ok_streak = 0;
                passes_in_trouble = 0;
                if (++fail_streak >= hc.unhealthy_threshold && ep.health_ok.load()) {
                  ep.health_ok.store(false);
                  gateway.events().warn(
                      "health check: upstream={} endpoint={} failing ({} in a row, last: {})",
                      up.name(), ep.endpoint.url, fail_streak,
                      r.error == clients::SendError::none
                          ? "status " + std::to_string(response.status)
                          : std::string(r.error == clients::SendError::connect_failed
                                            ? "connect failed"
                                        : r.error == clients::SendError::timeout ? "timeout"
                                                                                 : "reset"));
                }
              }
              timer.expires_after(hc.interval);
              beast::error_code ec;
              co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
          },
          asio::detached);
    }
  }
}

}  // namespace medgate::gateway
