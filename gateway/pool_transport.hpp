// The real Transport: one keep-alive ConnectionPool per upstream endpoint, owned by one
// gateway thread (no locks on the hot path).
#pragma once

#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "gateway/gateway_config.hpp"
#include "gateway/transport.hpp"

namespace medgate::gateway {

class PoolTransport final : public Transport {
 public:
  PoolTransport(boost::asio::io_context& io, const GatewayConfig& cfg);

  // Not a coroutine itself: it hands back the pool's, so an attempt costs no extra frame.
  [[nodiscard]] boost::asio::awaitable<clients::SendResult> send(
      const Upstream& up, size_t endpoint, const clients::WireRequest& req,
      clients::WireResponse& res, std::chrono::nanoseconds timeout, bool resend_on_stale,
      const clients::WireEdits& edits) override;
  [[nodiscard]] boost::asio::awaitable<void> sleep(std::chrono::nanoseconds d) override;

 private:
  boost::asio::io_context& io_;
  std::vector<std::vector<std::unique_ptr<clients::ConnectionPool>>>
      pools_;  // [upstream][endpoint]
};

}  // namespace medgate::gateway
