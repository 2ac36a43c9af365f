// The topology record as the store holds it now, for answers that must not lag a record
// another monitor has just committed: a node's start wrapper asking GET /role. A monitor's
// snapshot is only as new as its last round, and a standby monitor's may miss a promotion
// by a round or more; a returning old primary told "primary" from it would start writable.
// Store calls block (etcd over HTTP), so they run on the reader's own thread, one at a time,
// never on an io_context thread.
#pragma once

#include <atomic>
#include <memory>
#include <optional>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "db-monitors/topology.hpp"

namespace medgate::dbmon {

class RecordReader {
 public:
  // `store` is opened to read only (it never campaigns or writes).
  explicit RecordReader(std::unique_ptr<TopologyStore> store);
  ~RecordReader();  // waits for a read in progress
  RecordReader(const RecordReader&) = delete;
  RecordReader& operator=(const RecordReader&) = delete;

  // The stored record (nullopt: none was ever written), read when called; resumes on the
  // caller's executor. Throws what the store throws when it cannot be read, and
  // std::runtime_error at once when kMaxWaiting reads already wait (a flood of callers
  // queues no more).
  [[nodiscard]] boost::asio::awaitable<std::optional<TopologyRecord>> read();

  static constexpr int kMaxWaiting = 32;

 private:
  std::unique_ptr<TopologyStore> store_;
  std::atomic<int> waiting_{0};
  boost::asio::thread_pool thread_{1};  // declared last: joined before the store goes
};

}  // namespace medgate::dbmon
