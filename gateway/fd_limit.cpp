#include "gateway/fd_limit.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace medgate::gateway {

FdPlan plan_fd_limit(uint32_t max_connections, uint64_t soft, uint64_t hard) {
  const uint64_t needed = uint64_t{max_connections} * 2 + kReservedFds;
  FdPlan plan;
  plan.max_connections = max_connections;
  plan.soft_limit = std::max(soft, std::min(needed, hard));
  if (needed > hard) {
    const uint64_t fits = hard > kReservedFds ? (hard - kReservedFds) / 2 : 1;
    plan.max_connections = static_cast<uint32_t>(std::max<uint64_t>(1, fits));
    plan.warning = "limits.max_connections lowered from " + std::to_string(max_connections) +
                   " to " + std::to_string(plan.max_connections) + ": the open-file limit is " +
                   std::to_string(hard) + " (raise it with ulimit -n or LimitNOFILE)";
  }
  return plan;
}

FdPlan fit_fd_limit(uint32_t max_connections) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return {0, max_connections, "cannot read the open-file limit"};
  const uint64_t hard = rl.rlim_max == RLIM_INFINITY ? uint64_t{1} << 20 : rl.rlim_max;
  FdPlan plan = plan_fd_limit(max_connections, rl.rlim_cur, hard);
  if (plan.soft_limit != rl.rlim_cur) {
    rl.rlim_cur = plan.soft_limit;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      plan = plan_fd_limit(max_connections, rl.rlim_cur, rl.rlim_cur);
      plan.warning += " (setrlimit failed)";
    }
  }
  return plan;
}

}  // namespace medgate::gateway
