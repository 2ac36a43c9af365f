// How a daemon's main thread waits to be stopped: construct before starting any thread (the
// threads inherit the blocked SIGINT/SIGTERM, so only wait() receives them; SIGPIPE is
// ignored: a peer closing a socket is an error code, not a death), then wait().
#pragma once

#include <csignal>
#include <initializer_list>

namespace medgate::httpd {

class StopSignals {
 public:
  // `also`: further signals wait() returns (blocked in every thread too, so their default
  // action never runs): medgate's SIGUSR2, "write your state for a successor".
  explicit StopSignals(std::initializer_list<int> also = {});
  // Blocks until SIGINT, SIGTERM or one of `also` arrives; returns it.
  [[nodiscard]] int wait() const;

 private:
  sigset_t set_{};
};

}  // namespace medgate::httpd
