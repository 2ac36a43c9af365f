// A token bucket per client (an address): one client flooding the public API slows only
// itself. Bounded: at most `max_clients` buckets are kept; when that many are tracked, the
// idle ones (refilled to their burst) are dropped, and if every one is busy a new client is
// let through untracked (counted) rather than refused — refusing would let an address sprayer
// lock everyone out. Thread-safe (sharded locks).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "resilience/clock.hpp"
#include "resilience/rate_limiter.hpp"

namespace medgate::resilience {

class ClientRateLimiter {
 public:
  // Throws std::invalid_argument unless rate > 0, burst >= 1 and max_clients >= 1.
  ClientRateLimiter(double rate_per_second, double burst, size_t max_clients, const Clock& clock);

  struct Verdict {
    bool allowed = true;
    Duration retry_after{0};  // when refused: until a token is there
  };
  [[nodiscard]] Verdict try_acquire(std::string_view client);

  [[nodiscard]] uint64_t rejected() const;
  [[nodiscard]] uint64_t untracked() const;  // let through while the table was full of busy clients

 private:
  static constexpr size_t kShards = 16;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::unique_ptr<TokenBucket>, Hash, std::equal_to<>> buckets;
    uint64_t rejected = 0;
    uint64_t untracked = 0;
  };

  [[nodiscard]] uint64_t total(uint64_t Shard::*counter) const;

  const double rate_;
  const double burst_;
  const size_t per_shard_;
  const Clock& clock_;
  std::array<Shard, kShards> shards_;
};

}  // namespace medgate::resilience
