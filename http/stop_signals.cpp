#include "http/stop_signals.hpp"

#include <pthread.h>

namespace medgate::httpd {

StopSignals::StopSignals(std::initializer_list<int> also) {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  for (const int sig : also)
    sigaddset(&set_, sig);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int StopSignals::wait() const {
  int sig = 0;
  sigwait(&set_, &sig);
  return sig;
}

}  // namespace medgate::httpd
