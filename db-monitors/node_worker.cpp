#include "db-monitors/node_worker.hpp"

namespace medgate::dbmon {

NodeWorker::NodeWorker(std::shared_ptr<db::DbDriver> driver, db::DbNode node,
                       std::chrono::milliseconds connect_timeout)
    : driver_(std::move(driver)),
      node_(std::move(node)),
      connect_timeout_(connect_timeout),
      thread_([this] { loop(); }) {}

NodeWorker::~NodeWorker() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    jobs_.clear();  // their futures report broken_promise
  }
  cv_.notify_all();
  thread_.join();
}

void NodeWorker::push(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

bool NodeWorker::busy() const {
  std::lock_guard lock(mu_);
  return running_job_ || !jobs_.empty();
}

void NodeWorker::loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_)
        return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      running_job_ = true;
    }
    job();
    std::lock_guard lock(mu_);
    running_job_ = false;
  }
}

}  // namespace medgate::dbmon
