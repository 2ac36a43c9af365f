#include "resilience/client_rate_limiter.hpp"

#include <stdexcept>

namespace medgate::resilience {

ClientRateLimiter::ClientRateLimiter(double rate_per_second, double burst, size_t max_clients,
                                     const Clock& clock)
    : rate_(rate_per_second),
      burst_(burst),
      per_shard_(std::max<size_t>(1, max_clients / kShards)),
      clock_(clock) {
  if (!(rate_per_second > 0) || !(burst >= 1) || max_clients < 1)
    throw std::invalid_argument("a client rate limit needs rate > 0, burst >= 1, max_clients >= 1");
}

ClientRateLimiter::Verdict ClientRateLimiter::try_acquire(std::string_view client) {
  Shard& shard = shards_[std::hash<std::string_view>{}(client) % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.buckets.find(client);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= per_shard_) {
      // Idle clients have refilled to their burst: forgetting them changes nothing.
      std::erase_if(shard.buckets, [&](auto& entry) {
        return entry.second->wait_for(burst_) == Duration::zero();
      });
      if (shard.buckets.size() >= per_shard_) {
        ++shard.untracked;
        return {};
      }
    }
    it = shard.buckets
             .emplace(std::string(client), std::make_unique<TokenBucket>(rate_, burst_, clock_))
             .first;
  }
  if (it->second->try_acquire())
    return {};
  ++shard.rejected;
  return {false, it->second->wait_for()};
}

uint64_t ClientRateLimiter::total(uint64_t Shard::*counter) const {
  uint64_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.*counter;
  }
  return n;
}

uint64_t ClientRateLimiter::rejected() const {
  return total(&Shard::rejected);
}

uint64_t ClientRateLimiter::untracked() const {
  return total(&Shard::untracked);
}

}  // namespace medgate::resilience
