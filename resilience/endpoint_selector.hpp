// Chooses the endpoint for the next attempt among an upstream's endpoints.
// Policies: ordered (failover: first routable wins), round-robin, least-outstanding.
// Thread-safe (the round-robin cursor is atomic).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace medgate::resilience {

enum class SelectionPolicy : uint8_t { ordered, round_robin, least_outstanding };
[[nodiscard]] std::string_view to_string(SelectionPolicy p);

// What to do when no untried endpoint is routable.
enum class PanicMode : uint8_t {
  fail,  // answer "unavailable" (default: never route to a known-dead endpoint)
  any,   // ignore routability and pick among the untried endpoints anyway
};
[[nodiscard]] std::string_view to_string(PanicMode m);

struct EndpointView {
  bool routable = true;  // breaker, outlier and health verdict combined
  uint32_t in_flight = 0;
  uint32_t weight = 100;  // 1..100; below 100 while an endpoint ramps back in
};

struct Selection {
  size_t index = 0;
  bool panic = false;  // chosen although not routable
};

class EndpointSelector {
 public:
  EndpointSelector(SelectionPolicy policy, PanicMode panic) : policy_(policy), panic_(panic) {}

  // `tried` is a bitmask of endpoint indices already used by this request (max 64 endpoints).
  // `unit_random` in [0, 1) decides ramp-in admission for endpoints with weight < 100.
  [[nodiscard]] std::optional<Selection> pick(std::span<const EndpointView> endpoints,
                                              uint64_t tried, double unit_random = 0.0);

  [[nodiscard]] SelectionPolicy policy() const { return policy_; }

 private:
  [[nodiscard]] std::optional<size_t> choose(std::span<const EndpointView> endpoints,
                                             uint64_t tried, bool require_routable,
                                             double unit_random);

  const SelectionPolicy policy_;
  const PanicMode panic_;
  std::atomic<uint64_t> cursor_{0};
};

}  // namespace medgate::resilience
