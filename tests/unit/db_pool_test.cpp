// DbPool against GMock connections: primary discovery, reuse, transactions always ended,
// failover retries, bounds.
#include <atomic>
#include <thread>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include "apps/service-kit/http_service.hpp"
#include "clients/db/db_pool.hpp"
#include "clients/db/monitor_topology.hpp"
#include "tests/support/db_mocks.hpp"
#include "tests/support/process.hpp"

namespace medgate::testing {
namespace {

using db::Access;
using db::DbConnection;
using db::DbError;
using db::DbErrorKind;
using ::testing::NiceMock;
using ::testing::Return;
using namespace std::chrono_literals;

// Per-node behaviour the fake cluster can change between calls (a failover).
struct FakeNode {
  std::atomic<bool> reachable{true};
  std::atomic<bool> writable{false};
  std::atomic<int> connects{0};
  std::atomic<int> rollbacks{0};
  std::atomic<bool> rollback_fails{false};
  std::atomic<bool> commit_breaks{false};  // the connection dies during COMMIT
  std::atomic<bool> hung{false};           // connects and says writable, statements time out
  std::atomic<bool> stuck{false};          // statements wait until abandoned (at most 5 s), like a
                                           // real driver's on a SIGSTOPped server
  std::atomic<int> abandoned{0};
};

class DbPoolTest : public ::testing::Test {
 protected:
  DbPoolTest() {
    nodes_[0].writable = true;
    ON_CALL(*driver_, connect).WillByDefault([this](const db::DbNode& n, auto) {
      const size_t i = n.port == 1 ? 0 : 1;
      FakeNode& node = nodes_[i];
      ++node.connects;
      if (!node.reachable)
        throw DbError(DbErrorKind::unavailable, "refused");
      return make_connection(i);
    });
  }

  std::unique_ptr<DbConnection> make_connection(size_t i) {
    auto conn = std::make_unique<NiceMock<MockDbConnection>>();
    auto in_tx = std::make_shared<bool>(false);
    FakeNode& node = nodes_[i];
    ON_CALL(*conn, writable).WillByDefault([&node] {
      if (!node.reachable)
        throw DbError(DbErrorKind::unavailable, "gone");
      return node.writable.load();
    });
    ON_CALL(*conn, ping).WillByDefault([&node] { return node.reachable.load(); });
    ON_CALL(*conn, begin).WillByDefault([in_tx] { *in_tx = true; });
    ON_CALL(*conn, commit).WillByDefault([in_tx, &node] {
      if (node.commit_breaks)
        throw DbError(DbErrorKind::unavailable, "server closed the connection during COMMIT");
      *in_tx = false;
    });
    ON_CALL(*conn, rollback).WillByDefault([in_tx, &node] {
      ++node.rollbacks;
      if (node.rollback_fails)
        throw DbError(DbErrorKind::unavailable, "rollback failed");
      *in_tx = false;
    });
    ON_CALL(*conn, in_transaction).WillByDefault([in_tx] { return *in_tx; });
    auto abandon = std::make_shared<std::shared_ptr<const db::AbandonSignal>>();
    ON_CALL(*conn, set_abandon).WillByDefault([abandon](auto signal) {
      *abandon = std::move(signal);
    });
    ON_CALL(*conn, execute)
        .WillByDefault([&node, i, abandon](std::string_view sql, const db::SqlParams&) {
          if (!node.reachable)
            throw DbError(DbErrorKind::unavailable, "connection lost");
          if (node.stuck) {
            const auto until = std::chrono::steady_clock::now() + 5s;
            while (std::chrono::steady_clock::now() < until) {
              if (*abandon && (*abandon)->fired()) {
                ++node.abandoned;
                throw DbError(DbErrorKind::unavailable, "abandoned: " + (*abandon)->why());
              }
              std::this_thread::sleep_for(2ms);
            }
            throw DbError(DbErrorKind::unavailable, "no answer within 5 s");
          }
          if (node.hung)
            throw DbError(DbErrorKind::unavailable, "no answer within the deadline");
          if (sql.starts_with("INSERT") && !node.writable)
            throw DbError(DbErrorKind::read_only, "read-only");
          db::SqlResult r;
          r.columns = {"node"};
          r.rows = {{std::to_string(i)}};
          return r;
        });
    return conn;
  }

  db::DbPoolOptions options(size_t max = 4) {
    db::DbPoolOptions o;
    o.nodes = {db::DbNode{.port = 1}, db::DbNode{.port = 2}};
    o.max_connections = max;
    o.threads = 2;
    o.acquire_timeout = 200ms;
    o.failover_wait = 500ms;
    o.retry_backoff = 10ms;
    o.watch_every = 0ms;  // only work asks the topology source (counted by some tests)
    return o;
  }

  static std::string which_node(DbConnection& c) {
    return *c.execute("INSERT INTO t VALUES (1)", {}).rows[0][0];
  }

  FakeNode nodes_[2];
  std::shared_ptr<NiceMock<MockDbDriver>> driver_ = std::make_shared<NiceMock<MockDbDriver>>();
};

TEST_F(DbPoolTest, FindsTheWritableNodeWhicheverOrderTheyAreListed) {
  nodes_[0].writable = false;
  nodes_[1].writable = true;
  db::DbPool pool(driver_, options());
  EXPECT_EQ(pool.with_connection(Access::write, which_node), "1");
  EXPECT_EQ(pool.stats().primary, "127.0.0.1:2");
}

TEST_F(DbPoolTest, ReusesAnIdleConnection) {
  db::DbPool pool(driver_, options());
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(pool.with_connection(Access::write, which_node), "0");
  EXPECT_EQ(nodes_[0].connects, 1);
  EXPECT_EQ(pool.stats().open, 1u);
  EXPECT_EQ(pool.stats().idle, 1u);
}

TEST_F(DbPoolTest, AConnectionLeftInATransactionIsRolledBackBeforeReuse) {
  db::DbPool pool(driver_, options());
  pool.with_connection(Access::write, [](DbConnection& c) {
    c.begin();  // and forgets to end it
    return 0;
  });
  EXPECT_EQ(nodes_[0].rollbacks, 1);
  const bool in_tx =
      pool.with_connection(Access::write, [](DbConnection& c) { return c.in_transaction(); });
  EXPECT_FALSE(in_tx);
  EXPECT_EQ(nodes_[0].connects, 1);  // rolled back cleanly, so it was kept
}

TEST_F(DbPoolTest, AConnectionWhoseRollbackFailsIsDiscarded) {
  db::DbPool pool(driver_, options());
  nodes_[0].rollback_fails = true;
  pool.with_connection(Access::write, [](DbConnection& c) {
    c.begin();
    return 0;
  });
  EXPECT_EQ(pool.stats().open, 0u);
  nodes_[0].rollback_fails = false;
  (void)pool.with_connection(Access::write, which_node);
  EXPECT_EQ(nodes_[0].connects, 2);
}

TEST_F(DbPoolTest, TransactionCommitsOrRollsBack) {
  db::DbPool pool(driver_, options());
  EXPECT_EQ(pool.with_transaction(Access::write, which_node), "0");
  EXPECT_EQ(nodes_[0].rollbacks, 0);
  EXPECT_THROW(pool.with_transaction(
                   Access::write,
                   [](DbConnection&) -> int { throw DbError(DbErrorKind::conflict, "duplicate"); }),
               DbError);
  EXPECT_EQ(nodes_[0].rollbacks, 1);
}

TEST_F(DbPoolTest, AfterAFailoverTheWorkIsRetriedOnTheNewPrimary) {
  db::DbPool pool(driver_, options());
  EXPECT_EQ(pool.with_connection(Access::write, which_node), "0");
  // The old primary is fenced (read-only) and the replica promoted.
  nodes_[0].writable = false;
  nodes_[1].writable = true;
  EXPECT_EQ(pool.with_transaction(Access::write, which_node), "1");
  EXPECT_EQ(pool.stats().primary, "127.0.0.1:2");
}

TEST_F(DbPoolTest, APrimaryThatDiesIsReplacedWithoutRestart) {
  db::DbPool pool(driver_, options());
  EXPECT_EQ(pool.with_connection(Access::write, which_node), "0");
  nodes_[0].reachable = false;
  // The promotion lands a little later: the pool keeps trying within failover_wait.
  std::thread promote([this] {
    std::this_thread::sleep_for(60ms);
    nodes_[1].writable = true;
  });
  EXPECT_EQ(pool.with_connection(Access::write, which_node), "1");
  promote.join();
}

TEST_F(DbPoolTest, GivesUpWhenNoNodeTakesWritesWithinTheFailoverWait) {
  nodes_[0].writable = false;
  db::DbPool pool(driver_, options());
  const auto start = std::chrono::steady_clock::now();
  try {
    (void)pool.with_connection(Access::write, which_node);
    FAIL() << "expected DbError";
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), DbErrorKind::unavailable);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("no writable database node"));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(DbPoolTest, NonRetryableErrorsAreNotRetried) {
  db::DbPool pool(driver_, options());
  int runs = 0;
  EXPECT_THROW(pool.with_connection(Access::write,
                                    [&](DbConnection&) -> int {
                                      ++runs;
                                      throw DbError(DbErrorKind::invalid, "syntax");
                                    }),
               DbError);
  EXPECT_EQ(runs, 1);
}

TEST_F(DbPoolTest, ACommitWithoutAnAnswerIsNeverRunAgain) {
  db::DbPool pool(driver_, options());
  nodes_[0].commit_breaks = true;
  int runs = 0;
  try {
    (void)pool.with_transaction(Access::write, [&](DbConnection& c) {
      ++runs;
      return which_node(c);
    });
    FAIL() << "expected outcome_unknown";
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), DbErrorKind::outcome_unknown);
    EXPECT_FALSE(e.retryable());
    EXPECT_THAT(e.what(), ::testing::HasSubstr("may have committed"));
  }
  EXPECT_EQ(runs, 1);  // re-running could apply the write twice
  EXPECT_EQ(pool.stats().open, 0u) << "the broken connection is not reused";
}

TEST_F(DbPoolTest, ATransactionTheServerAbortedRunsAgain) {
  db::DbPool pool(driver_, options());
  int runs = 0;
  const std::string node = pool.with_transaction(Access::write, [&](DbConnection& c) {
    if (++runs == 1)
      throw DbError(DbErrorKind::aborted, "Deadlock found when trying to get lock", "1213");
    return which_node(c);
  });
  EXPECT_EQ(node, "0");
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(nodes_[0].connects, 1) << "a deadlock is no reason to drop the connection";
  EXPECT_EQ(pool.stats().primary, "127.0.0.1:1");
}

TEST_F(DbPoolTest, TheCallersDeadlineEndsTheFailoverWaitSooner) {
  nodes_[0].writable = false;  // no primary: the pool would wait up to failover_wait
  auto o = options();
  o.failover_wait = 5s;
  db::DbPool pool(driver_, o);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW((void)pool.with_connection(Access::write, which_node, start + 50ms), DbError);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(DbPoolTest, ReadsGoToAnotherNodeWhileThePrimaryIsSuspect) {
  db::DbPool pool(driver_, options());
  auto read = [](DbConnection& c) { return *c.execute("SELECT 1", {}).rows[0][0]; };
  EXPECT_EQ(pool.with_connection(Access::read, read), "0");
  nodes_[0].hung = true;  // still writable in its own eyes, its statements time out
  EXPECT_EQ(pool.with_connection(Access::read, read), "1") << "the retry read the replica";
  EXPECT_EQ(pool.with_connection(Access::read, read), "1") << "no new try on the suspect";
  EXPECT_THROW((void)pool.with_connection(Access::write, which_node), DbError)
      << "writes still need the primary";
  nodes_[0].hung = false;
}

TEST_F(DbPoolTest, TheSizeIsBoundedAndAWaiterTimesOutAsBusy) {
  db::DbPool pool(driver_, options(1));
  std::atomic<bool> holding{false};
  std::atomic<bool> release{false};
  std::thread holder([&] {
    pool.with_connection(Access::write, [&](DbConnection&) {
      holding = true;
      while (!release)
        std::this_thread::sleep_for(1ms);
      return 0;
    });
  });
  while (!holding)
    std::this_thread::sleep_for(1ms);
  try {
    (void)pool.with_connection(Access::write, which_node);
    FAIL() << "expected busy";
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), DbErrorKind::busy);
  }
  release = true;
  holder.join();
  EXPECT_EQ(pool.with_connection(Access::write, which_node), "0");
}

TEST_F(DbPoolTest, ReadsGoToTheReplicaWhenAllowed) {
  auto o = options();
  o.reads_on_replica = true;
  db::DbPool pool(driver_, o);
  nodes_[0].writable = false;  // discovery meets node 0 read-only first
  nodes_[1].writable = true;
  EXPECT_EQ(pool.with_connection(Access::write, which_node), "1");
  const std::string read_node = pool.with_connection(
      Access::read, [](DbConnection& c) { return *c.execute("SELECT 1", {}).rows[0][0]; });
  EXPECT_EQ(read_node, "0");
}

TEST_F(DbPoolTest, ReadsFallBackToAReplicaWhileNoNodeTakesWrites) {
  nodes_[0].writable = false;  // both fenced: a failover in progress
  auto o = options();
  o.failover_wait = 0ms;
  db::DbPool pool(driver_, o);
  EXPECT_THROW((void)pool.with_connection(Access::write, which_node), DbError);
  const std::string node = pool.with_connection(
      Access::read, [](DbConnection& c) { return *c.execute("SELECT 1", {}).rows[0][0]; });
  EXPECT_EQ(node, "1");  // the last read-only node discovery met
}

TEST_F(DbPoolTest, TheCoroutineEntryRunsOffTheCallingThread) {
  db::DbPool pool(driver_, options());
  boost::asio::io_context io;
  const auto io_thread = std::this_thread::get_id();
  auto fut = boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<bool> {
        const auto worker = co_await pool.transaction(
            std::nullopt, Access::write, [](DbConnection&) { return std::this_thread::get_id(); });
        // Resumed back here, on the io_context's thread.
        co_return worker != io_thread&& std::this_thread::get_id() == io_thread;
      },
      boost::asio::use_future);
  io.run();
  EXPECT_TRUE(fut.get());
}

// ---- following a monitor's topology record ---------------------------------------------

class FakeTopology final : public db::TopologySource {
 public:
  Answer primary() override {
    std::lock_guard lock(mu);
    ++asked;
    return answer;
  }
  void elect(const std::string& label, uint64_t epoch) {
    std::lock_guard lock(mu);
    answer = {.reachable = true, .primary = label, .epoch = epoch};
  }
  std::mutex mu;
  Answer answer;
  int asked = 0;
};

class DbPoolTopologyTest : public DbPoolTest {
 protected:
  db::DbPoolOptions with_topology() {
    auto o = options();
    o.topology = topology_;
    return o;
  }
  std::shared_ptr<FakeTopology> topology_ = std::make_shared<FakeTopology>();
};

TEST_F(DbPoolTopologyTest, WritesGoToTheElectedPrimaryOnly) {
  topology_->elect("127.0.0.1:2", 7);
  nodes_[1].writable = true;  // both writable: node 0 is an old primary not yet fenced
  db::DbPool pool(driver_, with_topology());
  EXPECT_EQ(pool.with_connection(Access::write, which_node), "1");
  EXPECT_EQ(nodes_[0].connects, 0) << "the node that is not elected is never written to";
}

TEST_F(DbPoolTopologyTest, APublishedFailoverIsFollowedBeforeAnyStatementFails) {
  topology_->elect("127.0.0.1:1", 1);
  db::DbPool pool(driver_, with_topology());
  EXPECT_EQ(pool.with_connection(Access::write, which_node), "0");
  // The monitor promotes node 1; node 0 still answers (say, hung writes would wait on it).
  nodes_[1].writable = true;
  topology_->elect("127.0.0.1:2", 2);
  EXPECT_EQ(pool.with_connection(Access::write, which_node), "1");
  EXPECT_EQ(pool.stats().primary, "127.0.0.1:2");
  EXPECT_EQ(pool.stats().idle, 1u) << "the old primary's idle connection was dropped";
}

TEST_F(DbPoolTopologyTest, NoElectedPrimaryMeansNoWritesButReadsGoOn) {
  topology_->answer = {.reachable = true, .primary = std::nullopt, .why = "failing over"};
  nodes_[0].writable = true;  // writable but not elected: treated as fenced
  db::DbPool pool(driver_, with_topology());
  try {
    (void)pool.with_connection(Access::write, which_node);
    FAIL() << "a write went through without an elected primary";
  } catch (const DbError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("no primary taking writes"));
  }
  EXPECT_EQ(
      pool.with_connection(Access::read,
                           [](DbConnection& c) { return *c.execute("SELECT 1", {}).rows[0][0]; }),
      "1");  // the last node probed answers reads
}

// After a failover the old primary hangs (SIGSTOP) and is listed neither as primary nor as
// replica. A read that once failed on the new primary (say, it waited behind the failover)
// makes the new primary suspect; the reads that follow must not try the hung old primary
// first: each such try spent half their time there, failed, and made the new primary
// suspect again, for as long as the old one hung.
TEST_F(DbPoolTopologyTest, ReadsNeverGoToANodeTheMonitorDoesNotList) {
  topology_->elect("127.0.0.1:2", 2);  // node 0, the old primary, awaits its rejoin
  topology_->answer.replicas = std::vector<std::string>{};
  nodes_[0].hung = true;
  nodes_[1].writable = true;
  db::DbPool pool(driver_, with_topology());
  auto read = [](DbConnection& c) { return *c.execute("SELECT 1", {}).rows[0][0]; };
  EXPECT_EQ(pool.with_connection(Access::write, which_node), "1");
  nodes_[1].hung = true;  // one read fails on the new primary: it becomes suspect
  EXPECT_THROW((void)pool.with_connection(Access::read, read, std::chrono::steady_clock::now()),
               DbError);
  nodes_[1].hung = false;
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(pool.with_connection(Access::read, read), "1");
  EXPECT_EQ(nodes_[0].connects, 0) << "a read went to the node the monitor does not list";
  // Listed as a streaming replica again (it rejoined), it serves reads while the primary
  // is suspect.
  nodes_[0].hung = false;
  {
    std::lock_guard lock(topology_->mu);
    topology_->answer.replicas = std::vector<std::string>{"127.0.0.1:1"};
  }
  (void)pool.with_connection(Access::write, which_node);  // learns the new answer
  nodes_[1].hung = true;
  EXPECT_EQ(pool.with_connection(Access::read, read), "0");
  nodes_[1].hung = false;
}

// The primary hangs with writes in flight on every worker thread; the monitor then elects the
// replica. The pool's own watch learns it and abandons the stuck statements at once, so the
// writes run again on the new primary instead of waiting out their I/O timeout (here 5 s)
// while newer work queues behind them.
TEST_F(DbPoolTopologyTest, StatementsStuckOnTheOldPrimaryAreAbandonedWhenAnotherIsElected) {
  topology_->elect("127.0.0.1:1", 1);
  auto o = with_topology();
  o.watch_every = 10ms;
  o.failover_wait = 3s;
  db::DbPool pool(driver_, o);
  EXPECT_EQ(pool.with_connection(Access::write, which_node), "0");
  nodes_[0].stuck = true;
  std::vector<std::thread> writers;
  std::atomic<int> on_new{0};
  const auto start = std::chrono::steady_clock::now();
  for (int w = 0; w < 2; ++w)  // one per worker thread of options()
    writers.emplace_back([&] {
      try {
        if (pool.with_connection(Access::write, which_node) == "1")
          ++on_new;
      } catch (const DbError&) {
        // counted below as a write that did not reach the new primary
      }
    });
  std::this_thread::sleep_for(50ms);  // both writes wait on node 0
  nodes_[1].writable = true;
  topology_->elect("127.0.0.1:2", 2);
  for (auto& t : writers)
    t.join();
  EXPECT_EQ(on_new, 2);
  EXPECT_EQ(nodes_[0].abandoned, 2);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "they waited out the I/O timeout";
  nodes_[0].stuck = false;
}

TEST_F(DbPoolTopologyTest, WhileTheMonitorFailsOverAWriteAsksAgainAtAFlatPace) {
  // With growing pauses (10, 20, 30 ms ...) a 500 ms wait asks about 9 times, and a write
  // learns of the new primary up to a whole pause late; at a flat 10 ms it asks dozens.
  topology_->answer = {.reachable = true, .primary = std::nullopt, .why = "failing over"};
  db::DbPool pool(driver_, with_topology());
  EXPECT_THROW((void)pool.with_connection(Access::write, which_node), DbError);
  const int flat = topology_->asked;
  // Once a primary is elected, retries back off as before when the nodes fail.
  topology_->elect("127.0.0.1:1", 2);
  nodes_[0].reachable = false;
  nodes_[1].reachable = false;
  topology_->asked = 0;
  EXPECT_THROW((void)pool.with_connection(Access::write, which_node), DbError);
  const int growing = topology_->asked;
  EXPECT_GE(flat, 2 * growing) << flat << " asks at a flat pace, " << growing << " backing off";
}

// A write waiting for a failover (the monitor says no primary takes writes) waits on a timer
// between its tries, not on a worker thread: with one worker, a read still goes through at
// once instead of queueing behind the waiting write.
TEST_F(DbPoolTopologyTest, AWriteWaitingForAFailoverHoldsNoWorkerThread) {
  topology_->answer = {.reachable = true, .primary = std::nullopt, .why = "failing over"};
  auto o = with_topology();
  o.threads = 1;
  o.failover_wait = 3s;
  db::DbPool pool(driver_, o);
  boost::asio::io_context io;
  std::optional<std::string> written;
  std::chrono::steady_clock::duration read_took{};
  std::string read_value;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        written = co_await pool.query(std::nullopt, Access::write, which_node);
      },
      boost::asio::detached);
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        boost::asio::steady_timer t(io, 100ms);  // the write is waiting by now
        co_await t.async_wait(boost::asio::use_awaitable);
        const auto t0 = std::chrono::steady_clock::now();
        read_value = co_await pool.query(std::nullopt, Access::read, [](DbConnection& c) {
          return *c.execute("SELECT 1", {}).rows[0][0];
        });
        read_took = std::chrono::steady_clock::now() - t0;
        topology_->elect("127.0.0.1:1", 2);  // the failover ends: the write goes through
      },
      boost::asio::detached);
  io.run();
  EXPECT_FALSE(read_value.empty());
  EXPECT_LT(read_took, 500ms) << "the read queued behind the waiting write";
  EXPECT_EQ(written, "0");
}

TEST_F(DbPoolTopologyTest, AnUnreachableMonitorFallsBackToProbing) {
  topology_->answer = {.reachable = false};
  db::DbPool pool(driver_, with_topology());
  EXPECT_EQ(pool.with_connection(Access::write, which_node), "0");
}

// A monitor's GET /primary on loopback, answering about the record `epoch` names.
class FakeMonitor {
 public:
  FakeMonitor(uint64_t epoch, std::string port) : epoch_(epoch) {
    service::Router r;
    r.add(boost::beast::http::verb::get, "/primary",
          [this, port](service::RequestContext& ctx) -> boost::asio::awaitable<service::Response> {
            ++asked_;
            // db-monitor's long poll: an answer the caller has waits until it changes.
            const auto known = ctx.query_param("known");
            if (long_poll_ && known && *known == std::to_string(epoch_.load())) {
              boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
              const auto until = std::chrono::steady_clock::now() + 2s;
              while (*known == std::to_string(epoch_.load()) &&
                     std::chrono::steady_clock::now() < until) {
                t.expires_after(5ms);
                co_await t.async_wait(boost::asio::use_awaitable);
              }
            }
            const std::string e = std::to_string(epoch_.load());
            co_return service::json_reply(ctx.request, 200,
                                          R"({"epoch":)" + e + R"(,"version":")" + e +
                                              R"(","primary":{"name":"n","host":"h","port":)" +
                                              port + "}}");
          });
    http_ = std::make_unique<service::HttpService>(
        "fake-monitor", service::ListenOptions{.threads = 1}, service::ServiceLimits{},
        std::move(r),
        std::make_shared<spdlog::logger>("fake", std::make_shared<spdlog::sinks::null_sink_mt>()));
    http_->start();
  }
  [[nodiscard]] std::string url() const {
    return "http://127.0.0.1:" + std::to_string(http_->port()) + "/primary";
  }
  void stop() { http_.reset(); }
  void set_epoch(uint64_t e) { epoch_ = e; }
  void long_poll(bool on) { long_poll_ = on; }
  [[nodiscard]] int asked() const { return asked_; }

 private:
  std::atomic<uint64_t> epoch_;
  std::atomic<bool> long_poll_{false};
  std::atomic<int> asked_{0};
  std::unique_ptr<service::HttpService> http_;
};

// Several monitors of one cluster: the first that answers is taken; an answer about an older
// record than one already seen (a monitor that has not caught up) is not.
TEST(MonitorTopology, AsksEachMonitorInTurnAndIgnoresAnOlderRecord) {
  FakeMonitor behind(7, "1"), current(9, "2");
  const std::string dead = "http://127.0.0.1:" + std::to_string(testing::free_port()) + "/primary";
  db::MonitorTopology t({dead, current.url(), behind.url()}, 500ms, 0ms);
  auto a = t.primary();
  ASSERT_TRUE(a.reachable) << a.why;
  EXPECT_EQ(a.primary, "h:2");
  EXPECT_EQ(a.epoch, 9u);
  current.stop();
  a = t.primary();
  EXPECT_FALSE(a.reachable);
  EXPECT_THAT(a.why, ::testing::HasSubstr("answered about epoch 7, older than 9"));
  // A fresh pool has seen nothing newer: the one that answers is taken.
  db::MonitorTopology fresh({dead, behind.url()}, 500ms, 0ms);
  EXPECT_EQ(fresh.primary().primary, "h:1");
}

// With a watch, a thread long-polls each monitor: a new record is known within milliseconds
// (not at the next ask, 250 ms apart), primary() asks nothing itself, and a quiet monitor
// is asked about once per long poll, not every few hundred milliseconds.
TEST(MonitorTopology, AWatchLearnsANewRecordAtOnceAndAsksRarely) {
  FakeMonitor m(7, "1");
  m.long_poll(true);
  db::MonitorTopology t({m.url()}, 500ms, 250ms, 2s);
  const auto learnt = [&](uint64_t epoch, std::chrono::milliseconds within) {
    const auto until = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < until) {
      if (t.primary().epoch == epoch)
        return true;
      std::this_thread::sleep_for(1ms);
    }
    return false;
  };
  ASSERT_TRUE(learnt(7, 2s));
  std::this_thread::sleep_for(600ms);  // quiet: the watcher's request is held
  EXPECT_LE(m.asked(), 3) << "asked " << m.asked() << " times in 600 ms";
  const auto t0 = std::chrono::steady_clock::now();
  m.set_epoch(8);
  ASSERT_TRUE(learnt(8, 1s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 100ms);
}

TEST(MonitorTopologyParse, ReadsTheMonitorsAnswers) {
  auto a = db::MonitorTopology::parse(
      200,
      R"({"epoch":4,"state":"healthy","primary":{"name":"x","host":"127.0.0.1","port":5434}})");
  EXPECT_TRUE(a.reachable);
  EXPECT_EQ(a.primary, "127.0.0.1:5434");
  EXPECT_EQ(a.epoch, 4u);
  EXPECT_FALSE(a.replicas) << "not said: every node may be read";
  a = db::MonitorTopology::parse(
      503, R"({"epoch":5,"error":"no primary takes writes now",)"
           R"("replicas":[{"name":"r","host":"127.0.0.1","port":5433},{"name":"bad"}]})");
  EXPECT_TRUE(a.reachable);
  EXPECT_FALSE(a.primary);
  EXPECT_EQ(a.replicas, std::vector<std::string>{"127.0.0.1:5433"});
  EXPECT_EQ(db::MonitorTopology::parse(503, R"({"epoch":5,"replicas":[]})").replicas,
            std::vector<std::string>{});
  EXPECT_EQ(a.why, "no primary takes writes now");
  EXPECT_FALSE(db::MonitorTopology::parse(502, "").reachable);
  EXPECT_FALSE(db::MonitorTopology::parse(200, "{}").reachable);
  EXPECT_FALSE(db::MonitorTopology::parse(200, "not json").reachable);
  // Numbers out of range are no answer, not an exception (a watcher thread would die of it).
  EXPECT_FALSE(db::MonitorTopology::parse(503, R"({"epoch":-1})").reachable);
  EXPECT_FALSE(db::MonitorTopology::parse(200, R"({"epoch":1,"primary":{"host":"h","port":70000}})")
                   .reachable);
}

}  // namespace
}  // namespace medgate::testing
