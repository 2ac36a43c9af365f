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
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <variant>

#include "clients/db/db.hpp"
#include "db-monitors/engine.hpp"

namespace medgate::dbmon {

// What a job produced: its value, or what went wrong, as plain data. Exceptions never cross
// threads: the exception_ptr a future would carry is reference-counted inside the
// uninstrumented C++ runtime, so the thread that reads it and the thread that frees it
// look unordered to ThreadSanitizer. The waiting thread raises its own exception instead.
template <typename R>
struct JobResult {
  using Value = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
  std::optional<Value> value;
  enum class Failure : uint8_t { none, db, refusal, other } failure = Failure::none;
  db::DbErrorKind kind = db::DbErrorKind::unavailable;  // with Failure::db
  std::string code;                                     // with Failure::db
  std::string what;
};

class NodeWorker {
 public:
  NodeWorker(std::shared_ptr<db::DbDriver> driver, db::DbNode node,
             std::chrono::milliseconds connect_timeout);
  ~NodeWorker();  // finishes the running job (bounded by the driver's timeouts), drops the rest
  NodeWorker(const NodeWorker&) = delete;
  NodeWorker& operator=(const NodeWorker&) = delete;

  // Runs fn(connection) on the worker; the connection is opened first if needed and dropped
  // when fn throws a DbError of kind unavailable. Errors come back in the JobResult.
  template <typename F>
  auto submit(F fn) -> std::future<JobResult<std::invoke_result_t<F&, db::DbConnection&>>> {
    using R = std::invoke_result_t<F&, db::DbConnection&>;
    auto promise = std::make_shared<std::promise<JobResult<R>>>();
    auto future = promise->get_future();
    push([this, promise, fn = std::move(fn)]() mutable {
      JobResult<R> out;
      try {
        if constexpr (std::is_void_v<R>) {
          with_connection(fn);
          out.value.emplace();
        } else {
          out.value.emplace(with_connection(fn));
        }
      } catch (const db::DbError& e) {
        out.failure = JobResult<R>::Failure::db;
        out.kind = e.kind();
        out.code = e.code();
        out.what = e.what();
      } catch (const EngineRefusal& e) {
        out.failure = JobResult<R>::Failure::refusal;
        out.what = e.what();
      } catch (const std::exception& e) {
        out.failure = JobResult<R>::Failure::other;
        out.what = e.what();
      }
      promise->set_value(std::move(out));
    });
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
