#include "clients/db/monitor_topology.hpp"

#include <boost/json.hpp>

#include "clients/curl_client.hpp"

namespace medgate::db {

MonitorTopology::MonitorTopology(std::string url, std::chrono::milliseconds timeout,
                                 std::chrono::milliseconds ttl)
    : url_(std::move(url)), timeout_(timeout), ttl_(ttl) {}

TopologySource::Answer MonitorTopology::parse(long status, const std::string& body) {
  Answer a;
  if (status != 200 && status != 503)
    return a;
  boost::system::error_code ec;
  const auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object())
    return a;
  const auto& o = v.as_object();
  a.reachable = true;
  if (const auto* e = o.if_contains("epoch"); e && e->is_number())
    a.epoch = e->to_number<uint64_t>();
  if (status == 200) {
    const auto* p = o.if_contains("primary");
    if (p && p->is_object()) {
      const auto* host = p->as_object().if_contains("host");
      const auto* port = p->as_object().if_contains("port");
      if (host && host->is_string() && port && port->is_number()) {
        a.primary =
            std::string(host->as_string()) + ":" + std::to_string(port->to_number<int64_t>());
        return a;
      }
    }
    a.reachable = false;  // a 200 without a primary is not an answer we understand
    return a;
  }
  if (const auto* e = o.if_contains("error"); e && e->is_string())
    a.why = std::string(e->as_string());
  return a;
}

TopologySource::Answer MonitorTopology::primary() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  const auto keep = cached_.reachable && !cached_.primary ? ttl_ / 5 : ttl_;
  if (fetched_ != std::chrono::steady_clock::time_point{} && now - fetched_ < keep)
    return cached_;
  const auto r = clients::curl_perform({.url = url_, .timeout = timeout_, .max_body = 64 * 1024});
  cached_ = parse(r.ok() ? r.status : 0, r.body);
  if (!cached_.reachable)
    cached_.why = r.ok() ? "unexpected answer " + std::to_string(r.status) : r.error;
  fetched_ = now;
  return cached_;
}

}  // namespace medgate::db
