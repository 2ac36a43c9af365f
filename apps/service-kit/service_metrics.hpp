// A service's own metrics for Prometheus (GET /metrics): requests by route pattern and
// status class, and their duration, so the service levels can be read behind medgate too.
// Labels are route patterns ("GET /patients/{rut}"), never a patient.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace medgate::service {

class ServiceMetrics {
 public:
  // One series set per route label (a router's, in order), and one for requests no route
  // matched.
  ServiceMetrics(const std::string& service, std::vector<std::string> labels);

  // `route`: the matched route's index, nullopt for unmatched. Thread-safe.
  void request(std::optional<size_t> route, unsigned status, double seconds);
  [[nodiscard]] std::string render() const;

 private:
  struct Handles {
    std::array<prometheus::Counter*, 5> by_class{};  // 1xx..5xx
    prometheus::Histogram* latency = nullptr;
  };
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<Handles> routes_;  // one per route, then the unmatched
};

}  // namespace medgate::service
