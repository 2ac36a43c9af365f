// One thread per database node that runs every call to that node in order, on the node's
// own connection. The monitor waits for results with its own deadlines: a node that hangs
// holds only its own worker (until the driver's I/O timeout frees it), never the monitor's
// loop or another node's checks. A job whose result came too late still runs (a late fence
// still fences); its result is dropped.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "clients/db/db.hpp"

namespace medgate::dbmon {

class NodeWorker {
 public:
  NodeWorker(std::shared_ptr<db::DbDriver> driver, db::DbNode node,
             std::chrono::milliseconds connect_timeout);
  ~NodeWorker();  // finishes the running job (bounded by the driver's timeouts), drops the rest
  NodeWorker(const NodeWorker&) = delete;
  NodeWorker& operator=(const NodeWorker&) = delete;

  // Runs fn(connection) on the worker; the connection is opened first if needed and dropped
  // when fn throws a DbError of kind unavailable. Exceptions reach the future.
  template <typename F>
  auto submit(F fn) -> std::future<std::invoke_result_t<F&, db::DbConnection&>> {
    using R = std::invoke_result_t<F&, db::DbConnection&>;
    auto task = std::make_shared<std::packaged_task<R()>>(
        [this, fn = std::move(fn)]() mutable -> R { return with_connection(fn); });
    auto future = task->get_future();
    push([task] { (*task)(); });
    return future;
  }

  // A job is running or waiting.
  [[nodiscard]] bool busy() const;
  [[nodiscard]] const db::DbNode& node() const { return node_; }

 private:
  template <typename F>
  auto with_connection(F& fn) -> std::invoke_result_t<F&, db::DbConnection&> {
    try {
      if (!conn_)
        conn_ = driver_->connect(node_, connect_timeout_);
      return fn(*conn_);
    } catch (const db::DbError& e) {
      if (e.kind() == db::DbErrorKind::unavailable)
        conn_.reset();
      throw;
    }
  }
  void push(std::function<void()> job);
  void loop();

  std::shared_ptr<db::DbDriver> driver_;
  db::DbNode node_;
  std::chrono::milliseconds connect_timeout_;
  std::unique_ptr<db::DbConnection> conn_;  // touched on the worker thread only

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool running_job_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace medgate::dbmon
