// The drivers and the pool against real MariaDB and PostgreSQL servers on loopback.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
