#include "clients/db/db_pool.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace medgate::db {

using Clock = std::chrono::steady_clock;

DbPool::DbPool(std::shared_ptr<DbDriver> driver, DbPoolOptions options,
               std::function<void(const std::string&)> on_event)
    : driver_(std::move(driver)),
      options_(std::move(options)),
      on_event_(std::move(on_event)),
      workers_(std::max<size_t>(1, options_.threads)) {
  if (options_.nodes.empty())
    throw std::invalid_argument("DbPool needs at least one node");
  if (options_.max_connections == 0)
    throw std::invalid_argument("DbPool needs max_connections >= 1");
  suspect_until_.resize(options_.nodes.size());
  readable_.assign(options_.nodes.size(), true);
  for (size_t i = 0; i < options_.nodes.size(); ++i)
    abandon_.push_back(std::make_shared<AbandonSignal>());
  if (options_.topology && options_.watch_every.count() > 0)
    watcher_ = std::thread([this] { watch(); });
}

DbPool::~DbPool() {
  if (watcher_.joinable()) {
    {
      std::lock_guard lock(watch_mu_);
      stopping_ = true;
    }
    watch_cv_.notify_all();
    watcher_.join();
  }
  workers_.join();
}

void DbPool::watch() {
  std::unique_lock lock(watch_mu_);
  while (!stopping_) {
    lock.unlock();
    try {
      (void)elected();
    } catch (const std::exception&) {
      // No primary takes writes now, or one this pool does not know: work finds out itself.
    }
    lock.lock();
    watch_cv_.wait_for(lock, options_.watch_every, [this] { return stopping_; });
  }
}

void DbPool::hand_out(DbConnection& conn, size_t node, Until until) {
  conn.set_deadline(until);
  std::shared_ptr<AbandonSignal> signal;
  {
    std::lock_guard lock(mu_);
    signal = abandon_[node];
  }
  conn.set_abandon(std::move(signal));
}

DbPool::Lease::~Lease() {
  if (!conn_)
    return;
  bool broken = broken_;
  if (!broken && conn_->in_transaction()) {
    // Never hand a connection on inside a transaction (the leak the old system had).
    try {
      conn_->rollback();
    } catch (const DbError&) {
      broken = true;
    }
    broken = broken || conn_->in_transaction();
  }
  pool_->give_back(std::move(conn_), node_, broken);
}

void Transaction::commit() {
  try {
    conn_.commit();
  } catch (const DbError& e) {
    if (e.kind() != DbErrorKind::unavailable)
      throw;       // refused (read-only, aborted): nothing was committed
    done_ = true;  // nothing left to roll back on a broken connection
    throw DbError(
        DbErrorKind::outcome_unknown,
        std::string("COMMIT got no answer, the transaction may have committed: ") + e.what(),
        e.code());
  }
  done_ = true;
}

Transaction::~Transaction() {
  if (done_)
    return;
  try {
    conn_.rollback();
  } catch (const DbError&) {
    // The lease sees the transaction still open and discards the connection.
  }
}

void DbPool::event(const std::string& line) const {
  if (on_event_)
    on_event_(line);
}

std::optional<DbPool::Lease> DbPool::take_idle(size_t node, Until until) {
  for (;;) {
    std::unique_ptr<DbConnection> conn;
    Clock::time_point since;
    {
      std::lock_guard lock(mu_);
      for (size_t i = idle_.size(); i-- > 0;) {  // most recent first
        if (idle_[i].node == node) {
          conn = std::move(idle_[i].conn);
          since = idle_[i].since;
          idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(i));
          break;
        }
      }
    }
    if (!conn)
      return std::nullopt;
    hand_out(*conn, node, until);
    if (Clock::now() - since < options_.validate_after_idle || conn->ping())
      return Lease(this, std::move(conn), node);
    give_back(std::move(conn), node, true);  // dead while idle: drop it, try the next one
  }
}

DbPool::Lease DbPool::open_to(size_t node, Until until) {
  const auto now = Clock::now();
  if (until && *until <= now)
    throw DbError(DbErrorKind::unavailable, "the caller's deadline passed before " +
                                                options_.nodes[node].label() + " answered");
  auto deadline = now + options_.acquire_timeout;
  auto connect_timeout = options_.connect_timeout;
  if (until) {
    deadline = std::min(deadline, *until);
    connect_timeout =
        std::min(connect_timeout, std::chrono::ceil<std::chrono::milliseconds>(*until - now));
  }
  {
    std::unique_lock lock(mu_);
    while (open_ >= options_.max_connections) {
      // Make room by closing an idle connection to another node (left from before a
      // failover), else wait for one to be returned.
      auto other = std::find_if(idle_.begin(), idle_.end(),
                                [node](const Idle& i) { return i.node != node; });
      if (other != idle_.end()) {
        idle_.erase(other);
        --open_;
        break;
      }
      if (freed_.wait_until(lock, deadline) == std::cv_status::timeout)
        throw DbError(DbErrorKind::busy, "no database connection free within " +
                                             std::to_string(options_.acquire_timeout.count()) +
                                             "ms");
    }
    ++open_;  // reserved before connecting, outside the lock
  }
  try {
    auto conn = driver_->connect(options_.nodes[node], connect_timeout);
    hand_out(*conn, node, until);
    return Lease(this, std::move(conn), node);
  } catch (...) {
    std::lock_guard lock(mu_);
    --open_;
    freed_.notify_one();
    throw;
  }
}

std::optional<size_t> DbPool::elected() {
  if (!options_.topology)
    return std::nullopt;
  const TopologySource::Answer a = options_.topology->primary();
  monitor_says_no_primary_.store(a.reachable && !a.primary, std::memory_order_relaxed);
  if (!a.reachable)
    return std::nullopt;
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < options_.nodes.size(); ++i) {
      const std::string label = options_.nodes[i].label();
      readable_[i] = !a.replicas || label == a.primary ||
                     std::find(a.replicas->begin(), a.replicas->end(), label) != a.replicas->end();
    }
  }
  if (!a.primary)
    throw DbError(DbErrorKind::unavailable,
                  "the monitor reports no primary taking writes: " + a.why);
  for (size_t i = 0; i < options_.nodes.size(); ++i) {
    if (options_.nodes[i].label() == *a.primary) {
      follow(i, a.epoch);
      return i;
    }
  }
  throw DbError(DbErrorKind::unavailable,
                "the monitor elects " + *a.primary + ", which is not one of this pool's nodes");
}

void DbPool::follow(size_t node, uint64_t epoch) {
  std::optional<size_t> left;
  {
    std::lock_guard lock(mu_);
    if (elected_ && *elected_ != node) {
      // Statements still waiting on the node the monitor no longer elects (hung, say) give
      // up now, not at their I/O timeout: they hold worker threads the new primary needs.
      abandon_[*elected_]->fire("the monitor elected " + options_.nodes[node].label() + " (epoch " +
                                std::to_string(epoch) + ")");
      abandon_[*elected_] = std::make_shared<AbandonSignal>();
    }
    elected_ = node;
    if (primary_ == node)
      return;
    left = primary_;
    primary_ = node;
    ++rediscoveries_;
    if (left) {
      // Connections to the node that is no longer elected must not take another write.
      const auto gone = std::remove_if(idle_.begin(), idle_.end(),
                                       [l = *left](const Idle& i) { return i.node == l; });
      open_ -= static_cast<size_t>(idle_.end() - gone);
      idle_.erase(gone, idle_.end());
    }
  }
  event("monitor elects " + options_.nodes[node].label() + " (epoch " + std::to_string(epoch) +
        ")" + (left ? ", leaving " + options_.nodes[*left].label() : ""));
}

DbPool::Lease DbPool::discover(Until until) {
  std::optional<size_t> chosen;
  std::string reasons;
  try {
    chosen = elected();
  } catch (const DbError& e) {
    reasons = std::string(e.what()) + "; ";
  }
  if (chosen) {
    Lease lease = open_to(*chosen, until);
    if ((*lease).writable())
      return lease;
    lease.discard();
    throw DbError(DbErrorKind::read_only, "the elected primary " + options_.nodes[*chosen].label() +
                                              " does not take writes yet");
  }
  // With a source that answered "no primary", only read-only nodes are looked for (reads may
  // go on); a writable node that is not elected counts as fenced.
  const bool only_replicas = !reasons.empty();
  for (size_t i = 0; i < options_.nodes.size(); ++i) {
    if (only_replicas) {
      std::lock_guard lock(mu_);
      if (!readable_[i])
        continue;  // not among the nodes the monitor says may be read
    }
    try {
      Lease lease = open_to(i, until);
      if (!only_replicas && (*lease).writable()) {
        {
          std::lock_guard lock(mu_);
          primary_ = i;
          ++rediscoveries_;
        }
        event("primary is " + options_.nodes[i].label());
        return lease;
      }
      {
        std::lock_guard lock(mu_);
        replica_ = i;
      }
      reasons += options_.nodes[i].label() + " is read-only; ";
      if (!options_.reads_on_replica)
        lease.discard();
    } catch (const DbError& e) {
      if (e.kind() == DbErrorKind::busy || e.kind() == DbErrorKind::invalid)
        throw;
      reasons += std::string(e.what()) + "; ";
    }
  }
  throw DbError(DbErrorKind::unavailable, "no writable database node: " + reasons);
}

std::optional<DbPool::Lease> DbPool::read_elsewhere(Until until) {
  const auto now = Clock::now();
  std::vector<size_t> healthy;
  bool any_suspect = false;
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < options_.nodes.size(); ++i) {
      if (suspect_until_[i] > now)
        any_suspect = true;
      else if (readable_[i])
        healthy.push_back(i);
    }
  }
  if (!any_suspect)
    return std::nullopt;
  for (const size_t i : healthy) {
    if (auto lease = take_idle(i, until))
      return lease;
    try {
      return open_to(i, until);
    } catch (const DbError& e) {
      if (e.kind() == DbErrorKind::busy)
        throw;
      // Not answering either: without this, each read would try it first while it hangs.
      mark_suspect(i);
    }
  }
  return std::nullopt;
}

DbPool::Lease DbPool::acquire(Access access, Until until) {
  if (access == Access::read) {
    if (auto lease = read_elsewhere(until))
      return std::move(*lease);
  }
  if (access == Access::read && options_.reads_on_replica) {
    std::optional<size_t> replica;
    {
      std::lock_guard lock(mu_);
      if (replica_ && readable_[*replica_])
        replica = replica_;
    }
    if (replica) {
      if (auto lease = take_idle(*replica, until))
        return std::move(*lease);
      try {
        return open_to(*replica, until);
      } catch (const DbError& e) {
        if (e.kind() == DbErrorKind::busy)
          throw;
        std::lock_guard lock(mu_);
        if (replica_ == replica)
          replica_.reset();  // fall through to the primary
      }
    }
  }
  std::optional<size_t> primary;
  try {
    primary = elected();  // follows a published failover before any statement fails
  } catch (const DbError&) {
    std::lock_guard lock(mu_);
    primary_.reset();  // no primary takes writes: discover() says why, reads may fall back
  }
  if (!primary) {
    std::lock_guard lock(mu_);
    primary = primary_;
  }
  if (!primary) {
    try {
      return discover(until);
    } catch (const DbError& e) {
      if (access != Access::read || !e.retryable())
        throw;
      // No node takes writes (a failover in progress, or fenced): a replica still answers
      // reads, which beats failing them.
      std::optional<size_t> replica;
      {
        std::lock_guard lock(mu_);
        if (replica_ && readable_[*replica_])
          replica = replica_;
      }
      if (!replica)
        throw;
      return open_to(*replica, until);
    }
  }
  if (auto lease = take_idle(*primary, until))
    return std::move(*lease);
  try {
    return open_to(*primary, until);
  } catch (const DbError& e) {
    if (!e.retryable())
      throw;
    lost_primary(*primary, e);
    return discover(until);
  }
}

void DbPool::give_back(std::unique_ptr<DbConnection> conn, size_t node, bool broken) {
  if (!broken)
    conn->set_deadline(std::nullopt);  // the next caller brings its own
  std::lock_guard lock(mu_);
  // A connection to another node is kept while some node is suspect: reads use it.
  const auto now = Clock::now();
  const bool reads_elsewhere =
      std::any_of(suspect_until_.begin(), suspect_until_.end(), [now](auto t) { return t > now; });
  const bool useful = node == primary_ || (options_.reads_on_replica && node == replica_) ||
                      (reads_elsewhere && suspect_until_[node] <= now);
  if (broken || !useful) {
    --open_;
    conn.reset();
  } else {
    idle_.push_back({std::move(conn), node, Clock::now()});
  }
  freed_.notify_one();
}

void DbPool::mark_suspect(size_t node) {
  std::lock_guard lock(mu_);
  suspect_until_[node] = Clock::now() + options_.suspect_for;
}

void DbPool::lost_primary(size_t node, const DbError& why) {
  bool was_primary = false;
  {
    std::lock_guard lock(mu_);
    if (why.kind() == DbErrorKind::unavailable || why.kind() == DbErrorKind::outcome_unknown)
      suspect_until_[node] = Clock::now() + options_.suspect_for;
    if (primary_ == node) {
      primary_.reset();
      was_primary = true;
      // Its other connections are as suspect as this one.
      const auto gone = std::remove_if(idle_.begin(), idle_.end(),
                                       [node](const Idle& i) { return i.node == node; });
      open_ -= static_cast<size_t>(idle_.end() - gone);
      idle_.erase(gone, idle_.end());
    }
    if (replica_ == node && why.kind() == DbErrorKind::unavailable)
      replica_.reset();
  }
  if (was_primary)
    event("lost primary " + options_.nodes[node].label() + ": " + why.what());
}

DbPool::Deadline DbPool::retry_end(std::optional<Deadline> give_up) const {
  const Deadline wait_end = Clock::now() + options_.failover_wait;
  return give_up ? std::min(*give_up, wait_end) : wait_end;
}

bool DbPool::try_again(const DbError& e, uint32_t attempt, Deadline end) const {
  const bool again = e.retryable() || e.kind() == DbErrorKind::aborted;
  if (!again || Clock::now() + pause_for(attempt) > end)
    return false;
  event(std::string("retrying after: ") + e.what());
  return true;
}

std::chrono::milliseconds DbPool::pause_for(uint32_t attempt) const {
  if (monitor_says_no_primary_.load(std::memory_order_relaxed))
    return options_.retry_backoff;
  return std::min<std::chrono::milliseconds>(options_.retry_backoff * (attempt + 1),
                                             std::chrono::seconds(1));
}

DbPool::Health DbPool::check(std::optional<Deadline> until) {
  Health h;
  for (const Access access : {Access::write, Access::read}) {
    try {
      Until by = until;
      if (until && access == Access::write)
        by = Clock::now() + (*until - Clock::now()) / 2;
      Lease lease = acquire(access, by);
      try {
        (void)(*lease).execute("SELECT 1", {});
      } catch (const DbError& e) {
        lease.discard();
        if (e.retryable())
          lost_primary(lease.node(), e);
        throw;
      }
      h.readable = true;
      h.writable = access == Access::write;
      return h;
    } catch (const DbError& e) {
      if (h.error.empty())
        h.error = e.what();
    }
  }
  return h;
}

boost::asio::awaitable<std::optional<DbPool::Health>> DbPool::check_within(
    std::chrono::milliseconds wait) {
  uint64_t want = 0;
  {
    std::lock_guard lock(probe_.mu);
    want = probe_.finished + 1;
    if (!probe_.running) {
      probe_.running = true;
      // Bounded a little below the first caller's wait, so the answer comes in time.
      const Deadline by = Clock::now() + wait * 9 / 10;
      boost::asio::post(workers_, [this, by] {
        Health h = check(by);
        std::lock_guard l(probe_.mu);
        probe_.last = std::move(h);
        probe_.running = false;
        ++probe_.finished;
      });
    }
  }
  // Polled: the check runs on a worker thread that may outlive this coroutine's executor,
  // so it touches nothing of the caller's.
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  const auto until = Clock::now() + wait;
  for (;;) {
    {
      std::lock_guard lock(probe_.mu);
      if (probe_.finished >= want)
        co_return probe_.last;
    }
    if (Clock::now() >= until)
      co_return std::nullopt;
    timer.expires_after(
        std::min<Clock::duration>(std::chrono::milliseconds(10), until - Clock::now()));
    co_await timer.async_wait(boost::asio::use_awaitable);
  }
}

DbPoolStats DbPool::stats() const {
  std::lock_guard lock(mu_);
  DbPoolStats s;
  s.open = open_;
  s.idle = idle_.size();
  if (primary_)
    s.primary = options_.nodes[*primary_].label();
  s.rediscoveries = rediscoveries_;
  return s;
}

const SqlValue& SqlResult::at(size_t r, std::string_view name) const {
  for (size_t c = 0; c < columns.size(); ++c)
    if (columns[c] == name)
      return rows.at(r).at(c);
  throw std::out_of_range("no column " + std::string(name));
}

}  // namespace medgate::db
