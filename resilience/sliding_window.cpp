#include "resilience/sliding_window.hpp"

#include <algorithm>
#include <stdexcept>

namespace medgate::resilience {

CountWindow::CountWindow(uint32_t size) : ring_(size, 0) {
  if (size == 0)
    throw std::invalid_argument("CountWindow size must be > 0");
}

void CountWindow::record(bool failure, bool slow) {
  const auto size = static_cast<uint32_t>(ring_.size());
  uint8_t& slot = ring_[next_];
  if (totals_.calls == size) {  // full: the oldest call leaves
    totals_.failures -= (slot & kFailure) ? 1 : 0;
    totals_.slow -= (slot & kSlow) ? 1 : 0;
  } else {
    ++totals_.calls;
  }
  slot = static_cast<uint8_t>((failure ? kFailure : 0) | (slow ? kSlow : 0));
  totals_.failures += failure ? 1 : 0;
  totals_.slow += slow ? 1 : 0;
  next_ = (next_ + 1) % size;
}

void CountWindow::clear() {
  std::fill(ring_.begin(), ring_.end(), 0);
  next_ = 0;
  totals_ = OutcomeCounts{};
}

}  // namespace medgate::resilience
