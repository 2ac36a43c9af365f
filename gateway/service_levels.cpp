#include "gateway/service_levels.hpp"

#include <algorithm>

namespace medgate::gateway {

std::optional<double> bucket_quantile(double q, const std::vector<double>& bounds,
                                      const std::vector<double>& counts, double total) {
  if (total <= 0 || bounds.empty() || bounds.size() != counts.size())
    return std::nullopt;
  const double rank = q * total;
  double lower_bound = 0;
  double lower_count = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (counts[i] >= rank) {
      const double in_bucket = counts[i] - lower_count;
      if (in_bucket <= 0)
        return bounds[i];
      return lower_bound + (bounds[i] - lower_bound) * (rank - lower_count) / in_bucket;
    }
    lower_bound = bounds[i];
    lower_count = counts[i];
  }
  // Beyond the last bound (+Inf): the last bound is all that can be said.
  return bounds.back();
}

WindowLevels levels_between(const ApiTotals& from, const ApiTotals& to) {
  WindowLevels w;
  w.seconds = std::chrono::duration<double>(to.at - from.at).count();
  w.requests = std::max(0.0, to.requests - from.requests);
  if (w.requests <= 0)
    return w;
  const double errors = std::max(0.0, to.errors - from.errors);
  w.availability = 1.0 - errors / w.requests;
  std::vector<double> counts(to.bucket_counts.size());
  for (size_t i = 0; i < counts.size(); ++i)
    counts[i] = std::max(
        0.0, to.bucket_counts[i] - (i < from.bucket_counts.size() ? from.bucket_counts[i] : 0.0));
  for (size_t i = 0; i < to.bucket_bounds.size(); ++i)
    if (to.bucket_bounds[i] == 3.0)
      w.under_3s = std::min(1.0, counts[i] / w.requests);
  w.p50_seconds = bucket_quantile(0.5, to.bucket_bounds, counts, w.requests);
  w.p99_seconds = bucket_quantile(0.99, to.bucket_bounds, counts, w.requests);
  return w;
}

void TotalsHistory::add(ApiTotals t) {
  if (!first_)
    first_ = t;
  recent_.push_back(std::move(t));
  while (recent_.size() > capacity_)
    recent_.pop_front();
}

std::optional<WindowLevels> TotalsHistory::over(std::chrono::seconds window) const {
  if (recent_.size() < 2)
    return std::nullopt;
  const auto& last = recent_.back();
  const ApiTotals* from = &recent_.front();
  for (const auto& t : recent_)
    if (last.at - t.at <= window) {
      from = &t;
      break;
    }
  if (from == &last)
    return std::nullopt;
  return levels_between(*from, last);
}

std::optional<WindowLevels> TotalsHistory::since_start() const {
  if (!first_ || recent_.empty() || recent_.back().at == first_->at)
    return std::nullopt;
  return levels_between(*first_, recent_.back());
}

}  // namespace medgate::gateway
