// A real etcd cluster (Debian etcd-server) for integration tests: `members` members on free
// loopback ports in a fresh temporary directory, healthy when the constructor returns,
// stopped by PID and removed when the handle goes away. Members can be stopped and started
// again (same data) to take quorum away and give it back.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace medgate::testing {

class EtcdCluster {
 public:
  explicit EtcdCluster(size_t members);
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // "http://127.0.0.1:P1,http://127.0.0.1:P2,..." (every member, running or not).
  [[nodiscard]] std::string endpoints() const;
  [[nodiscard]] std::string client_url(size_t member) const;
  void stop(size_t member);   // SIGTERM, waited for
  void start(size_t member);  // again, with its data; returns once it answers /health
  [[nodiscard]] size_t size() const { return members_.size(); }

 private:
  struct Member {
    std::string name;
    uint16_t client_port = 0;
    uint16_t peer_port = 0;
    std::unique_ptr<ChildProcess> process;
  };
  void launch(size_t member, bool first);

  std::string dir_;
  std::vector<Member> members_;
};

}  // namespace medgate::testing
