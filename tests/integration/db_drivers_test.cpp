// The drivers and the pool against real MariaDB and PostgreSQL servers on loopback.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <thread>

#include "clients/db/db_pool.hpp"
#include "clients/db/mariadb_driver.hpp"
#include "clients/db/postgres_driver.hpp"
#include "tests/support/db_servers.hpp"

namespace medgate::testing {
namespace {

using db::DbError;
using db::DbErrorKind;
using namespace std::chrono_literals;

DbErrorKind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DbError& e) {
    return e.kind();
  }
  ADD_FAILURE() << "expected a DbError";
  return DbErrorKind::invalid;
}

// A statement the server has not answered ends as soon as its abandon signal fires (the
// pool fires it when the monitor elects another primary), says so, and its connection is
// not used again.
void expect_abandoned_at_once(db::DbConnection& c, const std::string& slow_sql) {
  auto signal = std::make_shared<db::AbandonSignal>();
  c.set_abandon(signal);
  std::thread firer([signal] {
    std::this_thread::sleep_for(200ms);
    signal->fire("the monitor elected another primary");
  });
  const auto t0 = std::chrono::steady_clock::now();
  std::string what;
  try {
    (void)c.execute(slow_sql, {});
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), DbErrorKind::unavailable);
    what = e.what();
  }
  firer.join();
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_THAT(what, ::testing::HasSubstr("abandoned, the monitor elected another primary"));
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 1500ms) << "the statement ran to its end";
  EXPECT_EQ(kind_of([&] { (void)c.execute("SELECT 1", {}); }), DbErrorKind::unavailable);
}

TEST(PostgresDriverIT, ParamsTransactionsAndErrorKinds) {
  PostgresServer pg;
  pg.sql("CREATE ROLE app LOGIN PASSWORD 'secret'");
  pg.sql("CREATE DATABASE appdb OWNER app");
  db::PostgresDriver driver;
  auto c = driver.connect(pg.node("app", "secret", "appdb"), 2s);
  (void)c->execute("CREATE TABLE t (id int PRIMARY KEY, name text)", {});
  EXPECT_EQ(
      c->execute("INSERT INTO t VALUES ($1, $2)", {"1", "O'Brien; DROP TABLE t"}).affected_rows,
      1u);
  const auto r = c->execute("SELECT name FROM t WHERE id = $1", {"1"});
  EXPECT_EQ(r.at(0, "name"), "O'Brien; DROP TABLE t");
  EXPECT_EQ(kind_of([&] { (void)c->execute("INSERT INTO t VALUES (1, NULL)", {}); }),
            DbErrorKind::conflict);
  c->begin();
  EXPECT_TRUE(c->in_transaction());
  (void)c->execute("INSERT INTO t VALUES (2, NULL)", {});
  c->rollback();
  EXPECT_FALSE(c->in_transaction());
  EXPECT_TRUE(c->execute("SELECT 1 FROM t WHERE id = 2", {}).rows.empty());
  EXPECT_TRUE(c->writable());
  (void)c->execute("SET default_transaction_read_only = on", {});
  EXPECT_FALSE(c->writable());
  EXPECT_EQ(kind_of([&] { (void)c->execute("INSERT INTO t VALUES (3, NULL)", {}); }),
            DbErrorKind::read_only);
  EXPECT_EQ(kind_of([&] { (void)driver.connect(pg.node("app", "secret", "nodb"), 2s); }),
            DbErrorKind::unavailable);
}

TEST(PostgresDriverIT, AStatementEndsWhenAbandoned) {
  PostgresServer pg;
  db::PostgresDriver driver(10s);
  auto c = driver.connect(pg.node("postgres", "", "postgres"), 2s);
  expect_abandoned_at_once(*c, "SELECT pg_sleep(5)");
}

TEST(MariadbDriverIT, AStatementEndsWhenAbandoned) {
  MariadbServer m({});
  m.sql("CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'secret';");
  db::MariadbDriver driver(db::MysqlDialect::mariadb, 10s);
  auto c = driver.connect(m.node("app", "secret", ""), 2s);
  expect_abandoned_at_once(*c, "SELECT SLEEP(5)");
}

TEST(MariadbDriverIT, ParamsEscapingReadOnlyAndConflicts) {
  MariadbServer m({});
  m.sql(
      "CREATE DATABASE appdb; CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'secret';"
      "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON appdb.* TO 'app'@'127.0.0.1';");
  db::MariadbDriver driver;
  auto c = driver.connect(m.node("app", "secret", "appdb"), 2s);
  (void)c->execute("CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, name TEXT)", {});
  const auto ins = c->execute("INSERT INTO t (name) VALUES (?)", {"it's a \\ test ?"});
  EXPECT_EQ(ins.affected_rows, 1u);
  EXPECT_EQ(ins.insert_id, 1u);
  EXPECT_EQ(c->execute("SELECT name FROM t WHERE id = ?", {"1"}).at(0, "name"), "it's a \\ test ?");
  EXPECT_EQ(kind_of([&] { (void)c->execute("INSERT INTO t VALUES (1, 'x')", {}); }),
            DbErrorKind::conflict);
  c->begin();
  EXPECT_TRUE(c->in_transaction());
  c->rollback();
  EXPECT_FALSE(c->in_transaction());
  EXPECT_TRUE(c->writable());
  // Fencing: an application user (no READ ONLY ADMIN) is refused writes.
  m.sql("SET GLOBAL read_only = ON");
  EXPECT_FALSE(c->writable());
  EXPECT_EQ(kind_of([&] { (void)c->execute("INSERT INTO t (name) VALUES ('x')", {}); }),
            DbErrorKind::read_only);
}

// A hung server (SIGSTOP) holds a statement no longer than the caller's deadline, to the
// millisecond (Connector/C's own timeouts count whole seconds), and the connection cut off is
// not used again. A slow statement without a deadline ends at the driver's io_timeout.
TEST(MariadbDriverIT, AStatementEndsByTheCallersDeadlineOnAHungServer) {
  MariadbServer m({});
  m.sql("CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'secret';");
  db::MariadbDriver driver(db::MysqlDialect::mariadb, 1500ms);
  auto c = driver.connect(m.node("app", "secret", ""), 2s);
  EXPECT_TRUE(c->ping());
  m.signal(SIGSTOP);
  // The stop lands on every thread a moment later: wait until the kernel says it is stopped.
  for (int i = 0; i < 200; ++i) {
    std::ifstream st("/proc/" + std::to_string(m.pid()) + "/stat");
    std::string pid, comm, state;
    st >> pid >> comm >> state;
    if (state == "T")
      break;
    std::this_thread::sleep_for(5ms);
  }
  c->set_deadline(std::chrono::steady_clock::now() + 300ms);
  const auto t0 = std::chrono::steady_clock::now();
  std::string what;
  try {
    (void)c->execute("SELECT 1", {});
  } catch (const DbError& e) {
    EXPECT_EQ(e.kind(), DbErrorKind::unavailable);
    what = e.what();
  }
  const auto took = std::chrono::steady_clock::now() - t0;
  m.signal(SIGCONT);
  EXPECT_THAT(what, ::testing::HasSubstr("outcome is unknown"));
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 800ms);
  EXPECT_FALSE(c->ping());  // cut off mid-statement: never reused
  EXPECT_EQ(kind_of([&] { (void)c->execute("SELECT 1", {}); }), DbErrorKind::unavailable);
  // Without a deadline: io_timeout (1.5 s), not the 2 s Connector/C would round it up to.
  auto d = driver.connect(m.node("app", "secret", ""), 2s);
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(kind_of([&] { (void)d->execute("SELECT SLEEP(5)", {}); }), DbErrorKind::unavailable);
  const auto slow = std::chrono::steady_clock::now() - t1;
  EXPECT_GE(slow, 1400ms);
  EXPECT_LT(slow, 1900ms);
  // A fresh connection works: the server was never the problem.
  EXPECT_EQ(driver.connect(m.node("app", "secret", ""), 2s)->execute("SELECT 1", {}).rows.size(),
            1u);
}

TEST(DbPoolIT, FollowsTheWritableNodeAcrossRealServers) {
  MariadbServer a({.server_id = 1});
  MariadbServer b({.server_id = 2, .read_only = true});
  for (auto* s : {&a, &b})
    s->sql(
        "CREATE DATABASE appdb; CREATE TABLE appdb.t (n INT);"
        "CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'secret';"
        "GRANT SELECT, INSERT ON appdb.* TO 'app'@'127.0.0.1';");
  db::DbPoolOptions o;
  o.nodes = {b.node("app", "secret", "appdb"), a.node("app", "secret", "appdb")};
  o.failover_wait = 5s;
  db::DbPool pool(std::make_shared<db::MariadbDriver>(), o);
  auto insert = [](db::DbConnection& c) {
    return c.execute("INSERT INTO t VALUES (1)", {}).affected_rows;
  };
  EXPECT_EQ(pool.with_transaction(db::Access::write, insert), 1u);
  EXPECT_EQ(pool.stats().primary, "127.0.0.1:" + std::to_string(a.port()));
  // Swap roles under the running pool, as a failover would.
  a.sql("SET GLOBAL read_only = ON");
  b.sql("SET GLOBAL read_only = OFF");
  EXPECT_EQ(pool.with_transaction(db::Access::write, insert), 1u);
  EXPECT_EQ(pool.stats().primary, "127.0.0.1:" + std::to_string(b.port()));
  EXPECT_EQ(b.query("SELECT COUNT(*) FROM appdb.t"), "1\n");
  // The old primary, now gone entirely: still served by b.
  a.kill();
  EXPECT_EQ(pool.with_transaction(db::Access::write, insert), 1u);
}

}  // namespace
}  // namespace medgate::testing
