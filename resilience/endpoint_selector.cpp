#include "resilience/endpoint_selector.hpp"

#include <limits>

namespace medgate::resilience {

std::string_view to_string(SelectionPolicy p) {
  switch (p) {
    case SelectionPolicy::ordered:
      return "ordered";
    case SelectionPolicy::round_robin:
      return "round_robin";
    case SelectionPolicy::least_outstanding:
      return "least_outstanding";
  }
  return "unknown";
}

std::string_view to_string(PanicMode m) {
  return m == PanicMode::fail ? "fail" : "any";
}

std::optional<Selection> EndpointSelector::pick(std::span<const EndpointView> endpoints,
                                                uint64_t tried, double unit_random) {
  if (auto i = choose(endpoints, tried, true, unit_random))
    return Selection{*i, false};
  if (panic_ == PanicMode::any) {
    if (auto i = choose(endpoints, tried, false, unit_random))
      return Selection{*i, true};
  }
  return std::nullopt;
}

std::optional<size_t> EndpointSelector::choose(std::span<const EndpointView> endpoints,
                                               uint64_t tried, bool require_routable,
                                               double unit_random) {
  const size_t n = std::min<size_t>(endpoints.size(), 64);
  if (n == 0)
    return std::nullopt;
  auto eligible = [&](size_t i) {
    return (tried & (uint64_t{1} << i)) == 0 && (!require_routable || endpoints[i].routable);
  };
  // An endpoint ramping back in (weight < 100) takes only its share of the traffic it would
  // otherwise get; it is always used when nothing else is eligible.
  auto admitted = [&](size_t i) {
    return endpoints[i].weight >= 100 || unit_random * 100.0 < endpoints[i].weight;
  };

  // Two passes: first respecting ramp-in weights, then without them.
  for (int pass = 0; pass < 2; ++pass) {
    const bool weighted = pass == 0;
    switch (policy_) {
      case SelectionPolicy::ordered:
        for (size_t i = 0; i < n; ++i)
          if (eligible(i) && (!weighted || admitted(i)))
            return i;
        break;
      case SelectionPolicy::round_robin: {
        const uint64_t start = cursor_.fetch_add(1, std::memory_order_relaxed);
        for (size_t k = 0; k < n; ++k) {
          const size_t i = (start + k) % n;
          if (eligible(i) && (!weighted || admitted(i)))
            return i;
        }
        break;
      }
      case SelectionPolicy::least_outstanding: {
        // Rotate the starting point so ties spread across endpoints.
        const uint64_t start = cursor_.fetch_add(1, std::memory_order_relaxed);
        std::optional<size_t> best;
        uint32_t best_load = std::numeric_limits<uint32_t>::max();
        for (size_t k = 0; k < n; ++k) {
          const size_t i = (start + k) % n;
          if (!eligible(i) || (weighted && !admitted(i)))
            continue;
          if (endpoints[i].in_flight < best_load) {
            best = i;
            best_load = endpoints[i].in_flight;
          }
        }
        if (best)
          return best;
        break;
      }
    }
  }
  return std::nullopt;
}

}  // namespace medgate::resilience
