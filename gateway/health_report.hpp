// /health's report: a verdict over every upstream (ok, degraded, down) and, in detail,
// each upstream's breaker, endpoints, retry budget and bulkhead.
#pragma once

#include "clients/wire_message.hpp"
#include "gateway/upstream.hpp"
#include "resilience/clock.hpp"

namespace medgate::gateway {

// 503 when every upstream is down, else 200. `detail` false: the bare verdict ({"status"}).
[[nodiscard]] clients::WireResponse health_report(UpstreamSet& upstreams, resilience::TimePoint now,
                                                  bool draining, bool detail);

}  // namespace medgate::gateway
