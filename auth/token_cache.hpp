// Tokens already verified, so that a caller's every request does not pay for an ECDSA
// verification (tens of microseconds): one cache per thread, not thread-safe. An entry
// lasts until its token expires or `max_age` passes, whichever is first, so a removed key
// stops being honoured within `max_age`. Bounded: when full, it starts over.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/principal.hpp"

namespace medgate::auth {

class VerifiedTokenCache {
 public:
  explicit VerifiedTokenCache(size_t max_entries = 4096,
                              std::chrono::seconds max_age = std::chrono::seconds(60))
      : max_entries_(max_entries), max_age_(max_age) {}

  [[nodiscard]] const Principal* find(std::string_view token,
                                      std::chrono::system_clock::time_point now);
  void put(std::string_view token, const Principal& p, std::chrono::system_clock::time_point now,
           std::chrono::seconds leeway);

 private:
  struct Entry {
    Principal principal;
    std::chrono::system_clock::time_point until;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  size_t max_entries_;
  std::chrono::seconds max_age_;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
};

}  // namespace medgate::auth
