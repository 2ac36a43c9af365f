// A loopback TCP forwarder that a test can turn into a black hole: connections stay open
// and silent in both directions and new ones are accepted but never served, the way a
// network partition looks to one client. Used to cut only the monitor's view of a server
// while its replicas keep their own connections.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace medgate::testing {

class TcpProxy {
 public:
  explicit TcpProxy(uint16_t target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  [[nodiscard]] uint16_t port() const { return port_; }
  void blackhole(bool on) { blackhole_.store(on); }

 private:
  void accept_loop();
  void pump(int from, int to);

  uint16_t target_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> blackhole_{false};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace medgate::testing
