#include "auth/token_cache.hpp"

namespace medgate::auth {

const Principal* VerifiedTokenCache::find(std::string_view token,
                                          std::chrono::system_clock::time_point now) {
  const auto it = entries_.find(token);
  if (it == entries_.end())
    return nullptr;
  if (now >= it->second.until) {
    entries_.erase(it);
    return nullptr;
  }
  return &it->second.principal;
}

void VerifiedTokenCache::put(std::string_view token, const Principal& p,
                             std::chrono::system_clock::time_point now,
                             std::chrono::seconds leeway) {
  if (max_entries_ == 0)
    return;
  if (entries_.size() >= max_entries_)
    entries_.clear();
  entries_.insert_or_assign(std::string(token),
                            Entry{p, std::min(p.expires + leeway, now + max_age_)});
}

}  // namespace medgate::auth
