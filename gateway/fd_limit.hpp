// The open-file limit and limits.max_connections must agree: every downstream connection
// is a descriptor and may hold an upstream one, so a cap the process cannot hold would fail
// on accept() (EMFILE) instead of at the cap.
#pragma once

#include <cstdint>
#include <string>

namespace medgate::gateway {

struct FdPlan {
  uint64_t soft_limit = 0;       // the RLIMIT_NOFILE soft limit to set
  uint32_t max_connections = 0;  // what the process can hold
  std::string warning;           // set when max_connections had to be lowered
};

// Descriptors kept aside for listeners, logs, pools' idle connections beyond the pairing,
// health checks and the process itself.
inline constexpr uint64_t kReservedFds = 128;

// Two descriptors per connection plus the reserve: raises the soft limit as far as needed
// (up to `hard`), or lowers max_connections to what `hard` allows, saying so.
[[nodiscard]] FdPlan plan_fd_limit(uint32_t max_connections, uint64_t soft, uint64_t hard);

// Applies plan_fd_limit to this process (setrlimit); returns the plan.
[[nodiscard]] FdPlan fit_fd_limit(uint32_t max_connections);

}  // namespace medgate::gateway
