#include "db-monitors/leadership.hpp"

namespace medgate::dbmon {

void Leadership::renewed(TimePoint sent, Duration ttl) {
  last_error_.clear();
  if (ttl <= Duration::zero()) {
    valid_until_ = TimePoint{};
    held_ = false;
    last_error_ = "the lease expired before it was renewed";
    return;
  }
  valid_until_ = sent + ttl - margin_;
}

void Leadership::holds_key(bool held, std::string holder) {
  held_ = held;
  holder_ = std::move(holder);
}

void Leadership::unreachable(std::string why) {
  last_error_ = std::move(why);
}

bool Leadership::may_act(TimePoint now) const {
  return held_ && now < valid_until_;
}

std::string Leadership::why_not(TimePoint now) const {
  if (may_act(now))
    return "";
  if (now >= valid_until_)
    return last_error_.empty() ? "no live lease in etcd"
                               : "no live lease in etcd (" + last_error_ + ")";
  if (holder_.empty())
    return "no monitor holds the leader key yet";
  return holder_ + " holds the leader key";
}

}  // namespace medgate::dbmon
