// Service levels from medgate's own counters, for the dashboard when no Prometheus runs:
// availability (share of API requests not answered 5xx), the share answered under 3 s, and
// latency percentiles interpolated within histogram buckets (as Prometheus's
// histogram_quantile does). Pure: snapshots in, figures out.
#pragma once

#include <chrono>
#include <deque>
#include <optional>
#include <vector>

namespace medgate::gateway {

// Cumulative totals of the API routes at one instant.
struct ApiTotals {
  std::chrono::steady_clock::time_point at;
  double requests = 0;
  double errors = 0;                  // answered 5xx
  std::vector<double> bucket_bounds;  // seconds, ascending (the histogram's le)
  std::vector<double> bucket_counts;  // cumulative, one per bound
};

struct WindowLevels {
  double seconds = 0;  // the window actually covered (less than asked early on)
  double requests = 0;
  std::optional<double> availability;  // nullopt without requests
  std::optional<double> under_3s;
  std::optional<double> p50_seconds;
  std::optional<double> p99_seconds;
};

// The q-quantile (0..1) of the observations between two cumulative bucket snapshots.
[[nodiscard]] std::optional<double> bucket_quantile(double q, const std::vector<double>& bounds,
                                                    const std::vector<double>& counts,
                                                    double total);

// Figures for the change from `from` to `to`.
[[nodiscard]] WindowLevels levels_between(const ApiTotals& from, const ApiTotals& to);

// A bounded history of snapshots; `window` finds the oldest one within it.
class TotalsHistory {
 public:
  explicit TotalsHistory(size_t capacity) : capacity_(capacity) {}
  void add(ApiTotals t);
  // Levels over the last `window` (or as much of it as the history holds).
  [[nodiscard]] std::optional<WindowLevels> over(std::chrono::seconds window) const;
  // Since the first snapshot ever taken (medgate's start).
  [[nodiscard]] std::optional<WindowLevels> since_start() const;

 private:
  size_t capacity_;
  std::optional<ApiTotals> first_;
  std::deque<ApiTotals> recent_;
};

}  // namespace medgate::gateway
