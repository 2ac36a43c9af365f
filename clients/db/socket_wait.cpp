#include "clients/db/socket_wait.hpp"

#include <algorithm>
#include <cerrno>

namespace medgate::db {

SocketWait wait_socket(int fd, short events, std::chrono::steady_clock::time_point deadline,
                       const AbandonSignal* abandon, short* revents) {
  using Clock = std::chrono::steady_clock;
  for (;;) {
    int ms = -1;
    if (deadline != Clock::time_point::max()) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0)
        return SocketWait::timed_out;
      ms = static_cast<int>(std::min<int64_t>(left, 60'000));
    }
    pollfd p[2] = {{.fd = fd, .events = events, .revents = 0},
                   {.fd = abandon ? abandon->fd() : -1, .events = POLLIN, .revents = 0}};
    const int rc = ::poll(p, 2, ms);
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc > 0 && p[0].revents == 0 && p[1].revents != 0)
      return SocketWait::abandoned;
    if (rc != 0) {
      if (revents)
        *revents = rc < 0 ? POLLERR : p[0].revents;
      return SocketWait::ready;
    }
  }
}

}  // namespace medgate::db
