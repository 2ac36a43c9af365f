// The seam between an upstream's policy chain and the wire: one attempt to one endpoint,
// and the wait before an attempt goes back to an endpoint. PoolTransport is the real one
// (a gateway thread's keep-alive pools); unit tests script answers and move a fake clock.
#pragma once

#include <chrono>
#include <cstddef>

#include <boost/asio/awaitable.hpp>

#include "clients/connection_pool.hpp"

namespace medgate::gateway {

class Upstream;

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends `req` to endpoint `endpoint` of `up` and reads its answer into `res` within
  // `timeout`, as clients::ConnectionPool::send does (same contract for `resend_on_stale`
  // and `edits`). Everything passed must outlive the returned awaitable.
  [[nodiscard]] virtual boost::asio::awaitable<clients::SendResult> send(
      const Upstream& up, size_t endpoint, const clients::WireRequest& req,
      clients::WireResponse& res, std::chrono::nanoseconds timeout, bool resend_on_stale,
      const clients::WireEdits& edits) = 0;
  // A retry's back-off.
  [[nodiscard]] virtual boost::asio::awaitable<void> sleep(std::chrono::nanoseconds d) = 0;
};

}  // namespace medgate::gateway
