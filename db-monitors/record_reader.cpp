#include "db-monitors/record_reader.hpp"

#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace medgate::dbmon {

RecordReader::RecordReader(std::unique_ptr<TopologyStore> store) : store_(std::move(store)) {}

RecordReader::~RecordReader() {
  thread_.join();
}

boost::asio::awaitable<std::optional<TopologyRecord>> RecordReader::read() {
  if (waiting_.fetch_add(1) >= kMaxWaiting) {
    --waiting_;
    throw std::runtime_error("too many reads of the record waiting");
  }
  struct Done {
    std::atomic<int>& n;
    ~Done() { --n; }
  } done{waiting_};
  co_return co_await boost::asio::co_spawn(
      thread_,
      [this]() -> boost::asio::awaitable<std::optional<TopologyRecord>> {
        co_return store_->load();
      },
      boost::asio::use_awaitable);
}

}  // namespace medgate::dbmon
