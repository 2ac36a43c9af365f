#include "apps/patient-portal/gateway_client.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>

#include "clients/connection_pool.hpp"

namespace medgate::service {

namespace json = boost::json;
namespace http = boost::beast::http;

boost::asio::awaitable<GatewayAnswer> GatewayClient::get(std::string target, std::string request_id,
                                                         std::string bearer) const {
  // One short-lived pool per page: the portal's handlers run on several threads and a pool
  // belongs to one; a page makes a handful of calls, in parallel.
  clients::ConnectionPool pool(co_await boost::asio::this_coro::executor, gateway_,
                               clients::PoolOptions{.connect_timeout = timeout_, .max_idle = 0});
  clients::WireRequest req;
  req.target = gateway_.base_path + target;
  req.fields.add(http::field::host, "Host", gateway_.host_header);
  req.fields.add(http::field::accept, "Accept", "application/json");
  req.fields.add("X-Request-Id", request_id);
  if (!bearer.empty())
    req.fields.add(http::field::authorization, "Authorization", "Bearer " + bearer);
  clients::WireResponse res;
  const clients::SendResult r = co_await pool.send(req, res, timeout_, true);
  GatewayAnswer a;
  if (r.error != clients::SendError::none) {
    a.reason = "the gateway did not answer";
    co_return a;
  }
  boost::system::error_code ec;
  json::value body = json::parse(res.body, ec);
  const unsigned status = res.status;
  if (status == 200 && !ec) {
    a.body = std::move(body);
    const bool stale = res.fields.find("X-Medgate-Stale").has_value();
    a.kind = stale ? GatewayAnswer::Kind::stale : GatewayAnswer::Kind::ok;
    if (auto age = res.fields.find(http::field::age))
      a.stale_age_seconds = std::atol(std::string(*age).c_str());
    co_return a;
  }
  if (status == 404) {
    a.kind = GatewayAnswer::Kind::not_found;
    co_return a;
  }
  a.reason = "the gateway answered " + std::to_string(status);
  if (!ec && body.is_object()) {
    const auto& o = body.as_object();
    if (const auto* v = o.if_contains("reason"); v && v->is_string())
      a.reason = std::string(v->as_string());
    if (const auto* v = o.if_contains("upstream"); v && v->is_string())
      a.upstream = std::string(v->as_string());
    if (const auto* v = o.if_contains("retry_after_seconds"); v && v->is_int64())
      a.retry_after_seconds = static_cast<long>(v->as_int64());
  }
  co_return a;
}

}  // namespace medgate::service
