#include "clients/db/abandon_signal.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace medgate::db {

AbandonSignal::AbandonSignal() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (fd_ < 0)
    throw std::system_error(errno, std::generic_category(), "eventfd");
}

AbandonSignal::~AbandonSignal() {
  ::close(fd_);
}

void AbandonSignal::fire(const std::string& why) {
  if (claimed_.exchange(true))
    return;
  why_ = why;
  fired_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  // The counter cannot overflow from one write; a failure leaves fired() true, which every
  // waiter also checks before it waits.
  (void)!::write(fd_, &one, sizeof one);
}

}  // namespace medgate::db
