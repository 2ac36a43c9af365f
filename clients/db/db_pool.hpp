// A bounded pool of database connections over several nodes that finds the writable one.
//
// - Every blocking call runs on the pool's own worker threads; `run` is the coroutine-facing
//   entry and resumes the caller on its own executor, so no io_context thread ever blocks.
// - The pool discovers the primary by asking each node (DbConnection::writable). When a
//   unit of work fails because its node went away or turned read-only (a failover), the
//   pool forgets the primary, rediscovers it and runs the work again for up to
//   `failover_wait` (or the caller's own deadline, when sooner): work must therefore be one
//   transaction, or otherwise safe to run twice. A transaction the server aborted (deadlock,
//   serialization failure) runs again too.
// - A transaction whose COMMIT got no answer (the connection broke) is never run again: it
//   may have committed. with_transaction throws DbError(outcome_unknown); only the caller
//   knows whether running it again is safe (services: work keyed by Idempotency-Key, whose
//   re-run finds the committed key and replays).
// - A connection never returns to the pool inside a transaction: it is rolled back, or
//   discarded if the rollback fails.
// - Connections idle longer than `validate_after_idle` are pinged before reuse.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "clients/db/db.hpp"

namespace medgate::db {

enum class Access : uint8_t {
  write,  // the primary
  read,   // a replica when `reads_on_replica`, else the primary; a replica while none takes
          // writes
};

// Who the cluster's monitor says the primary is (db-monitors' GET /primary). With one, the
// pool writes only to the elected primary: a writable node that is not elected is treated as
// fenced, and a failover is followed as soon as it is published instead of after probing.
class TopologySource {
 public:
  virtual ~TopologySource() = default;
  struct Answer {
    bool reachable = false;              // false: the monitor did not answer (probe nodes)
    std::optional<std::string> primary;  // "host:port" while a primary takes writes
    uint64_t epoch = 0;
    std::string why;  // why there is no primary
    // "host:port" of the nodes besides the primary a read may go to: healthy replicas and
    // the node being promoted (another may hold writes that were never acknowledged: an old
    // primary awaiting its rejoin). nullopt: the monitor did not say (an older monitor),
    // every node may be read.
    std::optional<std::vector<std::string>> replicas;
  };
  // Blocking and bounded; called from the pool's worker threads.
  [[nodiscard]] virtual Answer primary() = 0;
};

struct DbPoolOptions {
  std::vector<DbNode> nodes;                 // any order: the writable one is found
  std::shared_ptr<TopologySource> topology;  // optional: follow the monitor's record
  size_t max_connections = 8;
  size_t threads = 4;  // worker threads for the blocking calls
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds acquire_timeout{3'000};
  std::chrono::milliseconds validate_after_idle{5'000};
  bool reads_on_replica = false;
  // How long a unit of work keeps being retried while no writable node answers (a failover
  // in progress), with a pause of retry_backoff x attempt, capped at 1 s, between tries;
  // while the monitor says no primary takes writes (it is failing over, which ends within
  // seconds), a flat retry_backoff, so a write goes on as soon as the new primary is published.
  std::chrono::milliseconds failover_wait{10'000};
  std::chrono::milliseconds retry_backoff{100};
  // A node whose statement or connection just failed is suspect for this long: reads go to
  // another node that answers (a replica serves them while the primary hangs), and a read
  // with a deadline gives its first node half its time, keeping the rest for another.
  std::chrono::milliseconds suspect_for{3'000};
  // With a topology source, how often a thread of the pool's own asks it (its cache or
  // its long polls: no request each time): a promotion is followed, and statements stuck on the
  // node it leaves are abandoned, even while every worker thread waits on that node. Zero: only
  // work asks.
  std::chrono::milliseconds watch_every{25};
};

struct DbPoolStats {
  size_t open = 0;
  size_t idle = 0;
  std::optional<std::string> primary;  // label of the last known writable node
  uint64_t rediscoveries = 0;
};

class DbPool {
 public:
  // `on_event` receives one line per notable event (primary found or lost, retry); may be
  // empty. It is called from worker threads.
  DbPool(std::shared_ptr<DbDriver> driver, DbPoolOptions options,
         std::function<void(const std::string&)> on_event = {});
  ~DbPool();
  DbPool(const DbPool&) = delete;
  DbPool& operator=(const DbPool&) = delete;

  using Deadline = std::chrono::steady_clock::time_point;

  // Blocking: runs `work(conn)` and returns its result (see the header comment for retries),
  // retrying until `failover_wait` from now or `give_up`, whichever comes first.
  template <typename F>
  auto with_connection(Access access, F&& work, std::optional<Deadline> give_up = {})
      -> std::invoke_result_t<F&, DbConnection&>;

  // Blocking: `work` inside BEGIN ... COMMIT; rolled back if it throws. A COMMIT that got
  // no answer throws DbError(outcome_unknown) and is not retried.
  template <typename F>
  auto with_transaction(Access access, F&& work, std::optional<Deadline> give_up = {})
      -> std::invoke_result_t<F&, DbConnection&>;

  // Coroutine: with_connection's tries, each on a worker thread (autocommit: for single
  // statements), until the caller's deadline when it has one (`until`: a request's); between
  // tries the coroutine waits on a timer, holding no worker thread.
  template <typename F>
  auto query(std::optional<Deadline> until, Access access, F work)
      -> boost::asio::awaitable<std::invoke_result_t<F&, DbConnection&>>;

  // Coroutine: runs with_transaction on a worker thread. R must be default-constructible.
  template <typename F>
  auto transaction(std::optional<Deadline> until, Access access, F work)
      -> boost::asio::awaitable<std::invoke_result_t<F&, DbConnection&>>;

  // Coroutine: runs any blocking `fn()` (typically several with_* calls) on a worker thread
  // and resumes the caller on its own executor. Exceptions propagate to the caller.
  template <typename F>
  auto run(F fn) -> boost::asio::awaitable<std::invoke_result_t<F&>>;

  // Blocking, one try and no failover wait, for health endpoints: can the primary be
  // reached (SELECT 1), and if not, can a read-only node still answer reads?
  struct Health {
    bool writable = false;
    bool readable = false;
    std::string error;  // why not writable
  };
  // With `until`, the write try gets half the time and the read try the rest.
  [[nodiscard]] Health check(std::optional<Deadline> until = std::nullopt);

  // Coroutine, for health endpoints that must answer in time: the result of a check() that
  // finishes within `wait`, else nullopt (a hung database). At most one check runs at a
  // time; a caller arriving while one runs waits for that one, so repeated probes of a hung
  // database hold one worker thread, not all of them.
  [[nodiscard]] boost::asio::awaitable<std::optional<Health>> check_within(
      std::chrono::milliseconds wait);

  [[nodiscard]] DbPoolStats stats() const;
  [[nodiscard]] const DbPoolOptions& options() const { return options_; }

 private:
  struct Idle {
    std::unique_ptr<DbConnection> conn;
    size_t node;
    std::chrono::steady_clock::time_point since;
  };

  // A connection checked out of the pool; gives it back (or discards it) on destruction.
  class Lease {
   public:
    Lease(DbPool* pool, std::unique_ptr<DbConnection> conn, size_t node)
        : pool_(pool), conn_(std::move(conn)), node_(node) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    DbConnection& operator*() { return *conn_; }
    [[nodiscard]] size_t node() const { return node_; }
    void discard() { broken_ = true; }

   private:
    DbPool* pool_;
    std::unique_ptr<DbConnection> conn_;
    size_t node_;
    bool broken_ = false;
  };

  // `until`: the caller's deadline, which bounds connecting, waiting for a free connection
  // and every statement of the connection handed out (DbConnection::set_deadline).
  using Until = std::optional<Deadline>;
  Lease acquire(Access access, Until until);
  std::optional<Lease> take_idle(size_t node, Until until);
  // For a read while some node is suspect: a lease on another node that answers, if any.
  std::optional<Lease> read_elsewhere(Until until);
  Lease open_to(size_t node, Until until);
  Lease discover(Until until);
  // The node the topology source elects (switching to it when it changed); nullopt when
  // there is no source or it did not answer. Throws DbError(unavailable) when it answered
  // that no primary takes writes.
  std::optional<size_t> elected();
  void follow(size_t node, uint64_t epoch);
  void give_back(std::unique_ptr<DbConnection> conn, size_t node, bool broken);
  void lost_primary(size_t node, const DbError& why);
  [[nodiscard]] std::chrono::milliseconds pause_for(uint32_t attempt) const;
  // When retries stop: failover_wait from now, or the caller's deadline when sooner.
  [[nodiscard]] Deadline retry_end(std::optional<Deadline> give_up) const;
  // Whether a try that failed with `e` is tried again (and says so in the events).
  bool try_again(const DbError& e, uint32_t attempt, Deadline end) const;
  // `work` inside BEGIN ... COMMIT (see Transaction).
  template <typename F>
  static auto in_transaction(F& work, DbConnection& conn)
      -> std::invoke_result_t<F&, DbConnection&>;
  template <typename F>
  auto one_try(Access access, F& work, std::optional<Deadline> give_up, Deadline end,
               uint32_t attempt) -> std::invoke_result_t<F&, DbConnection&>;
  template <typename Try>
  auto retrying(std::optional<Deadline> give_up, Try attempt_once)
      -> boost::asio::awaitable<std::invoke_result_t<Try&, Deadline, uint32_t>>;
  void event(const std::string& line) const;

  std::shared_ptr<DbDriver> driver_;
  const DbPoolOptions options_;
  std::function<void(const std::string&)> on_event_;

  mutable std::mutex mu_;
  std::condition_variable freed_;
  std::vector<Idle> idle_;
  size_t open_ = 0;
  std::optional<size_t> primary_;
  std::optional<size_t> replica_;  // a node last seen alive and read-only
  // The monitor's last answer: reachable, and no primary takes writes (a failover under way).
  std::atomic<bool> monitor_says_no_primary_{false};
  // Per node: may a read go there? All, until the monitor answers; then its primary and the
  // replicas it lists.
  std::vector<bool> readable_;
  void mark_suspect(size_t node);
  // Per node: fired when the pool stops following it as primary (see AbandonSignal).
  std::vector<std::shared_ptr<AbandonSignal>> abandon_;
  std::optional<size_t> elected_;  // the node the monitor last elected
  void hand_out(DbConnection& conn, size_t node, Until until);

  // The topology watch (watch_every).
  void watch();
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;
  std::thread watcher_;
  std::vector<std::chrono::steady_clock::time_point> suspect_until_;  // per node
  uint64_t rediscoveries_ = 0;

  // check_within's one check in flight and the last result.
  struct Probe {
    std::mutex mu;
    bool running = false;
    uint64_t finished = 0;  // checks completed so far
    Health last;
  } probe_;

  boost::asio::thread_pool workers_;
};

// Begins on construction; rolls back on destruction unless committed.
class Transaction {
 public:
  explicit Transaction(DbConnection& conn) : conn_(conn) { conn_.begin(); }
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  // A COMMIT that breaks the connection may or may not have committed: reported as
  // DbError(outcome_unknown), which no one retries blindly.
  void commit();

 private:
  DbConnection& conn_;
  bool done_ = false;
};

template <typename F>
auto DbPool::one_try(Access access, F& work, std::optional<Deadline> give_up, Deadline end,
                     uint32_t attempt) -> std::invoke_result_t<F&, DbConnection&> {
  // The caller stops listening at `give_up`: so do its connects and statements. A read may
  // go elsewhere: its first try gets half the time.
  Until until = give_up ? Until(end) : std::nullopt;
  if (until && access == Access::read && attempt == 0 && options_.nodes.size() > 1)
    until = std::chrono::steady_clock::now() + (end - std::chrono::steady_clock::now()) / 2;
  Lease lease = acquire(access, until);
  try {
    return work(*lease);
  } catch (const DbError& e) {
    if (e.retryable() || e.kind() == DbErrorKind::outcome_unknown) {
      lease.discard();
      lost_primary(lease.node(), e);
    }
    throw;
  }
}

template <typename F>
auto DbPool::with_connection(Access access, F&& work, std::optional<Deadline> give_up)
    -> std::invoke_result_t<F&, DbConnection&> {
  const Deadline end = retry_end(give_up);
  for (uint32_t attempt = 0;; ++attempt) {
    try {
      return one_try(access, work, give_up, end, attempt);
    } catch (const DbError& e) {
      if (!try_again(e, attempt, end))
        throw;
    }
    std::this_thread::sleep_for(pause_for(attempt));
  }
}

template <typename F>
auto DbPool::with_transaction(Access access, F&& work, std::optional<Deadline> give_up)
    -> std::invoke_result_t<F&, DbConnection&> {
  return with_connection(
      access, [&work](DbConnection& conn) { return in_transaction(work, conn); }, give_up);
}

template <typename F>
auto DbPool::in_transaction(F& work, DbConnection& conn)
    -> std::invoke_result_t<F&, DbConnection&> {
  Transaction tx(conn);
  if constexpr (std::is_void_v<std::invoke_result_t<F&, DbConnection&>>) {
    work(conn);
    tx.commit();
  } else {
    auto result = work(conn);
    tx.commit();
    return result;
  }
}

template <typename F>
auto DbPool::run(F fn) -> boost::asio::awaitable<std::invoke_result_t<F&>> {
  using R = std::invoke_result_t<F&>;
  co_return co_await boost::asio::co_spawn(
      workers_.get_executor(),
      [fn = std::move(fn)]() mutable -> boost::asio::awaitable<R> { co_return fn(); },
      boost::asio::use_awaitable);
}

template <typename F>
auto DbPool::query(std::optional<Deadline> until, Access access, F work)
    -> boost::asio::awaitable<std::invoke_result_t<F&, DbConnection&>> {
  co_return co_await retrying(
      until, [this, access, until, work = std::move(work)](Deadline end, uint32_t attempt) mutable {
        return one_try(access, work, until, end, attempt);
      });
}

template <typename F>
auto DbPool::transaction(std::optional<Deadline> until, Access access, F work)
    -> boost::asio::awaitable<std::invoke_result_t<F&, DbConnection&>> {
  co_return co_await retrying(
      until, [this, access, until, work = std::move(work)](Deadline end, uint32_t attempt) mutable {
        auto whole = [&work](DbConnection& conn) { return in_transaction(work, conn); };
        return one_try(access, whole, until, end, attempt);
      });
}

// Each try on a worker thread; between tries (a failover under way) the caller's coroutine
// waits on a timer, so a write waiting for a new primary holds no worker thread.
template <typename Try>
auto DbPool::retrying(std::optional<Deadline> give_up, Try attempt_once)
    -> boost::asio::awaitable<std::invoke_result_t<Try&, Deadline, uint32_t>> {
  using R = std::invoke_result_t<Try&, Deadline, uint32_t>;
  const Deadline end = retry_end(give_up);
  boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor);
  for (uint32_t attempt = 0;; ++attempt) {
    try {
      if constexpr (std::is_void_v<R>) {
        co_await run([&attempt_once, end, attempt] { attempt_once(end, attempt); });
        co_return;
      } else {
        co_return co_await run(
            [&attempt_once, end, attempt] { return attempt_once(end, attempt); });
      }
    } catch (const DbError& e) {
      if (!try_again(e, attempt, end))
        throw;
    }
    // Not inside the handler: a coroutine cannot wait there.
    pause.expires_after(pause_for(attempt));
    co_await pause.async_wait(boost::asio::use_awaitable);
  }
}

}  // namespace medgate::db
