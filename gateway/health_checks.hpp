// Active health checks: each endpoint of an upstream with `health_check` enabled is asked
// its health path every interval, from `io`'s thread, until the gateway drains. Failing
// checks take it out of traffic; passing ones bring it back and let its breakers probe.
#pragma once

#include <boost/asio/io_context.hpp>

#include "gateway/gateway.hpp"

namespace medgate::gateway {

void start_health_checks(Gateway& gateway, boost::asio::io_context& io);

}  // namespace medgate::gateway
