// How a daemon's main thread waits to be stopped: construct before starting any thread (the
// threads inherit the blocked SIGINT/SIGTERM, so only wait() receives them; SIGPIPE is
// ignored: a peer closing a socket is an error code, not a death), then wait().
#pragma once

#include <csignal>

namespace medgate::clients {

class StopSignals {
 public:
  StopSignals();
  // Blocks until SIGINT or SIGTERM arrives; returns it.
  [[nodiscard]] int wait() const;

 private:
  sigset_t set_{};
};

}  // namespace medgate::clients
