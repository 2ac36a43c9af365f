// GET /role's reader: reads the store off the io thread, and lets no flood of callers queue.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "db-monitors/record_reader.hpp"

namespace medgate::dbmon {
namespace {

// A store whose reads wait until released, as an etcd that answers slowly.
class SlowStore final : public TopologyStore {
 public:
  std::optional<TopologyRecord> load() override {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return released_; });
    TopologyRecord r;
    r.epoch = 7;
    r.primary = "b";
    return r;
  }
  bool compare_and_set(uint64_t, const TopologyRecord&) override { return false; }
  bool may_act() override { return false; }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
};

TEST(RecordReader, ReadsTheStoreAndRefusesCallersBeyondItsQueueAtOnce) {
  auto owned = std::make_unique<SlowStore>();
  SlowStore& store = *owned;
  RecordReader reader(std::move(owned));
  boost::asio::io_context io;
  int read = 0, refused = 0, failed = 0;
  for (int i = 0; i < RecordReader::kMaxWaiting + 3; ++i)
    boost::asio::co_spawn(io, reader.read(), [&](std::exception_ptr e, auto record) {
      if (!e) {
        read += record && record->epoch == 7 ? 1 : 0;
        return;
      }
      try {
        std::rethrow_exception(e);
      } catch (const std::runtime_error& r) {
        (std::string(r.what()).find("too many") != std::string::npos ? refused : failed)++;
      }
    });
  // The refused ones are answered while the others still wait on the store.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (refused < 3 && std::chrono::steady_clock::now() < until)
    io.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(refused, 3);
  EXPECT_EQ(read, 0);
  store.release();
  io.run();
  EXPECT_EQ(read, RecordReader::kMaxWaiting);
  EXPECT_EQ(failed, 0);
}

}  // namespace
}  // namespace medgate::dbmon
