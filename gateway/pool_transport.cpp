#include "gateway/pool_transport.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gateway/upstream.hpp"

namespace medgate::gateway {

PoolTransport::PoolTransport(boost::asio::io_context& io, const GatewayConfig& cfg) : io_(io) {
  for (const auto& u : cfg.upstreams) {
    clients::PoolOptions opts;
    opts.connect_timeout = u.connect_timeout;
    opts.idle_timeout = u.idle_timeout;
    opts.max_idle = u.max_idle_per_thread;
    opts.max_response_body = u.max_response_bytes;
    auto& row = pools_.emplace_back();
    for (const auto& ep : u.endpoints)
      row.push_back(std::make_unique<clients::ConnectionPool>(io.get_executor(), ep, opts));
  }
}

boost::asio::awaitable<clients::SendResult> PoolTransport::send(const Upstream& up, size_t endpoint,
                                                                const clients::WireRequest& req,
                                                                clients::WireResponse& res,
                                                                std::chrono::nanoseconds timeout,
                                                                bool resend_on_stale,
                                                                const clients::WireEdits& edits) {
  return pools_[up.index()][endpoint]->send(req, res, timeout, resend_on_stale, edits);
}

boost::asio::awaitable<void> PoolTransport::sleep(std::chrono::nanoseconds d) {
  boost::asio::steady_timer timer(io_);
  timer.expires_after(d);
  co_await timer.async_wait(boost::asio::use_awaitable);
}

}  // namespace medgate::gateway
