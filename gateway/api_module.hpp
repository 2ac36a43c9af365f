// An API medgate answers itself, built on upstream calls through their policy chains (the
// hospital portal's API is one: gateway/portal/). The core stays a generic resilient proxy;
// modules are handed to the Gateway at construction.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "gateway/upstream_call.hpp"

namespace medgate::gateway {

class ApiModule {
 public:
  virtual ~ApiModule() = default;
  // Route labels for metrics and the access log, e.g. "/api/doctors". Fixed for the
  // module's lifetime.
  [[nodiscard]] virtual std::vector<std::string> route_labels() const = 0;
  // Resolves the upstreams it calls; called once by the Gateway before any request. Throws
  // std::invalid_argument when one it needs is not configured.
  virtual void bind(UpstreamSet& upstreams) = 0;
  // Which of its route_labels() answers `path`, or nullopt when the module has no such path.
  [[nodiscard]] virtual std::optional<size_t> match(std::string_view path) const = 0;
  // Answers `req` (whose path matched `route`) into `out`, cleared first.
  [[nodiscard]] virtual boost::asio::awaitable<void> handle(const WireRequest& req,
                                                            std::string_view path, size_t route,
                                                            CallEnv& env, RequestInfo& info,
                                                            WireResponse& out) = 0;
};

}  // namespace medgate::gateway
