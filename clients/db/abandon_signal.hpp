// A one-shot signal that makes statements in flight give up at once: the pool fires it for a
// node the monitor no longer elects, so statements stuck on a hung old primary end when the
// new primary is published instead of at their I/O timeout, and free their worker threads.
//
// An eventfd: drivers wait on it beside their socket (poll), so firing it wakes them from
// another thread without a signal or a shared lock. Once fired it stays fired; a fresh one
// is made for the next connections to that node.
#pragma once

#include <atomic>
#include <string>

namespace medgate::db {

class AbandonSignal {
 public:
  AbandonSignal();  // throws std::system_error when no eventfd can be made
  ~AbandonSignal();
  AbandonSignal(const AbandonSignal&) = delete;
  AbandonSignal& operator=(const AbandonSignal&) = delete;

  // Thread-safe; only the first call counts.
  void fire(const std::string& why);
  [[nodiscard]] bool fired() const { return fired_.load(std::memory_order_acquire); }
  // The reason given to fire(), "" before. Reads the flag first: a waiter woken by the fd
  // alone has no ordering with fire()'s write of the reason.
  [[nodiscard]] std::string why() const { return fired() ? why_ : std::string(); }
  // Readable (POLLIN) once fired.
  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::atomic<bool> claimed_{false};
  std::atomic<bool> fired_{false};
  std::string why_;
};

}  // namespace medgate::db
