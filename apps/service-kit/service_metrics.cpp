#include "apps/service-kit/service_metrics.hpp"

#include <prometheus/text_serializer.h>

#include "apps/service-kit/http_service.hpp"

namespace medgate::service {

ServiceMetrics::ServiceMetrics(const std::string& service, std::vector<std::string> labels)
    : registry_(std::make_shared<prometheus::Registry>()) {
  auto& requests = prometheus::BuildCounter()
                       .Name("medgate_service_requests_total")
                       .Help("Requests a hospital service answered, by route and status class")
                       .Register(*registry_);
  auto& latency = prometheus::BuildHistogram()
                      .Name("medgate_service_request_duration_seconds")
                      .Help("Time from request read to response ready, by route")
                      .Register(*registry_);
  const prometheus::Histogram::BucketBoundaries buckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 3, 5, 10};
  static constexpr std::array<const char*, 5> kClasses = {"1xx", "2xx", "3xx", "4xx", "5xx"};

  labels.emplace_back("unmatched");
  for (const auto& route : labels) {
    Handles h;
    for (size_t c = 0; c < kClasses.size(); ++c)
      h.by_class[c] =
          &requests.Add({{"service", service}, {"route", route}, {"code", kClasses[c]}});
    h.latency = &latency.Add({{"service", service}, {"route", route}}, buckets);
    routes_.push_back(h);
  }
}

void ServiceMetrics::request(std::optional<size_t> route, unsigned status, double seconds) {
  const Handles& h = routes_[route && *route + 1 < routes_.size() ? *route : routes_.size() - 1];
  const size_t cls = status >= 100 && status < 600 ? status / 100 - 1 : 4;
  h.by_class[cls]->Increment();
  h.latency->Observe(seconds);
}

std::string ServiceMetrics::render() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace medgate::service
