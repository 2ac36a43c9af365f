// The engines' SQL against the database seam's GMock double: MySQL 8's dialect has no server
// here (Debian ships none), so this is where its statements are pinned down; MariaDB's and
// PostgreSQL's also run against real servers in the integration tests.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "db-monitors/mysql_engine.hpp"
#include "db-monitors/postgres_engine.hpp"
#include "tests/support/db_mocks.hpp"

namespace medgate::dbmon {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Invoke;

const std::string kUuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
const std::string kOther = "aaaaaaaa-71ca-11e1-9e33-c80aa9429562";

db::SqlResult table(std::vector<std::string> columns, std::vector<std::vector<db::SqlValue>> rows) {
  db::SqlResult r;
  r.columns = std::move(columns);
  r.rows = std::move(rows);
  return r;
}

// Records every statement; answers the first canned result whose key the statement contains.
class ScriptedConnection {
 public:
  ScriptedConnection() {
    ON_CALL(mock, execute(_, _))
        .WillByDefault(Invoke([this](std::string_view sql, const db::SqlParams& params) {
          statements.emplace_back(sql);
          for (const auto& p : params)
            bound.push_back(p.value_or("NULL"));
          for (const auto& [key, result] : answers)
            if (sql.find(key) != std::string_view::npos)
              return result;
          return db::SqlResult{};
        }));
  }
  void answer(std::string key, db::SqlResult r) {
    answers.emplace_back(std::move(key), std::move(r));
  }

  ::testing::NiceMock<testing::MockDbConnection> mock;
  std::vector<std::string> statements;
  std::vector<std::string> bound;
  std::vector<std::pair<std::string, db::SqlResult>> answers;
};

TEST(MariadbMissing, ComparesPerServerNotPerDomain) {
  // After a failover the new primary (server 2) reused sequence numbers 51+: the old
  // primary's 0-1-53 is not "covered" by 0-2-118.
  EXPECT_EQ(mariadb_missing("0-1-53", "0-1-50,0-2-118"), "0-1-51..53");
  EXPECT_EQ(mariadb_missing("0-1-50", "0-1-50,0-2-118"), "");
  EXPECT_EQ(mariadb_missing("0-1-45", "0-1-50,0-2-118"), "");
  EXPECT_EQ(mariadb_missing("0-1-51", "0-1-50"), "0-1-51");
  EXPECT_EQ(mariadb_missing("0-1-5,1-3-9", "0-1-5"), "1-3-1..9");
  EXPECT_EQ(mariadb_missing("", "0-1-5"), "");
  EXPECT_THROW((void)mariadb_missing("garbage", ""), db::DbError);
}

TEST(MysqlEngine8, ObservesAReplicaFromPerformanceSchema) {
  ScriptedConnection c;
  c.answer("Rpl_semi_sync_source",
           table({"Variable_name", "Value"},
                 {{"Rpl_semi_sync_source_status", "OFF"}, {"Rpl_semi_sync_source_clients", "0"}}));
  c.answer("@@global.read_only", table({"ro", "sro", "executed"}, {{"1", "1", kUuid + ":1-100"}}));
  c.answer("GTID_SUBTRACT", table({"errant"}, {{""}}));
  c.answer("replication_connection_status s",
           table({"state", "received", "heartbeats", "host", "port"},
                 {{"ON", kUuid + ":1-104", "7", "10.0.0.5", "3306"}}));
  MysqlEngine e(db::MysqlDialect::mysql8, {"repl", "pw"});
  const NodeObservation o = e.observe(c.mock);
  EXPECT_EQ(o.reach, Reach::ok);
  EXPECT_FALSE(o.writable);
  EXPECT_TRUE(o.replicating);
  EXPECT_TRUE(o.receiver_running);
  EXPECT_EQ(o.source, "10.0.0.5:3306");
  EXPECT_TRUE(o.received.covers(*Position::from_mysql_gtid_set(kUuid + ":1-104")));
  EXPECT_EQ(o.applied, *Position::from_mysql_gtid_set(kUuid + ":1-100"));
  EXPECT_EQ(o.errant, "");
  EXPECT_FALSE(o.sync_enabled);
  // The synchronous state is read before the position (the core relies on that order).
  ASSERT_GE(c.statements.size(), 2u);
  EXPECT_THAT(c.statements[0], HasSubstr("Rpl_semi_sync_source_status"));
  EXPECT_THAT(c.statements[1], HasSubstr("gtid_executed"));
}

TEST(MysqlEngine8, WritableNeedsBothReadOnlyFlagsOff) {
  ScriptedConnection c;
  c.answer("Rpl_semi_sync_source",
           table({"Variable_name", "Value"},
                 {{"Rpl_semi_sync_source_status", "ON"}, {"Rpl_semi_sync_source_clients", "1"}}));
  c.answer("@@global.read_only", table({"ro", "sro", "executed"}, {{"0", "1", kUuid + ":1-9"}}));
  MysqlEngine e(db::MysqlDialect::mysql8, {"repl", "pw"});
  EXPECT_FALSE(e.observe(c.mock).writable);  // super_read_only still on
  c.answers[1].second = table({"ro", "sro", "executed"}, {{"0", "0", kUuid + ":1-9"}});
  const auto o = e.observe(c.mock);
  EXPECT_TRUE(o.writable);
  EXPECT_FALSE(o.replicating);
  EXPECT_TRUE(o.sync_enabled);
  EXPECT_EQ(o.sync_replicas, 1);
}

TEST(MysqlEngine8, PromotesWithTheReplicaSyntaxAfterApplyingWhatItReceived) {
  ScriptedConnection c;
  c.answer("RECEIVED_TRANSACTION_SET AS received", table({"received"}, {{kUuid + ":1-104"}}));
  c.answer("WAIT_FOR_EXECUTED_GTID_SET", table({"r"}, {{"0"}}));
  MysqlEngine e(db::MysqlDialect::mysql8, {"repl", "pw"});
  e.promote(c.mock, std::chrono::seconds(10), false);
  EXPECT_THAT(c.statements,
              ElementsAre("SET GLOBAL rpl_semi_sync_source_enabled = OFF", "STOP REPLICA IO_THREAD",
                          HasSubstr("RECEIVED_TRANSACTION_SET"),
                          "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, 10.000) AS r", "STOP REPLICA",
                          "RESET REPLICA ALL", "SET GLOBAL rpl_semi_sync_source_enabled = OFF",
                          "SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF"));
  EXPECT_EQ(c.bound.front(), kUuid + ":1-104");
}

TEST(MysqlEngine8, PromotionFailsWhenTheRelayLogIsNotApplied) {
  ScriptedConnection c;
  c.answer("RECEIVED_TRANSACTION_SET AS received", table({"received"}, {{kUuid + ":1-104"}}));
  c.answer("WAIT_FOR_EXECUTED_GTID_SET", table({"r"}, {{"1"}}));  // timed out
  MysqlEngine e(db::MysqlDialect::mysql8, {"repl", "pw"});
  EXPECT_THROW(e.promote(c.mock, std::chrono::seconds(2), false), db::DbError);
  for (const auto& s : c.statements)
    EXPECT_THAT(s, ::testing::Not(HasSubstr("read_only = OFF")));
}

TEST(MysqlEngine8, FollowRefusesANodeWithTransactionsThePrimaryLacks) {
  ScriptedConnection c;
  c.answer("gtid_executed AS p", table({"p"}, {{kUuid + ":1-100," + kOther + ":1-3"}}));
  MysqlEngine e(db::MysqlDialect::mysql8, {"repl", "pw"});
  NodeSpec self{.name = "b", .port = 3307};
  NodeSpec primary{.name = "a", .host = "10.0.0.5", .port = 3306};
  EXPECT_THROW(e.follow(c.mock, self, primary, kUuid + ":1-120"), EngineRefusal);
  c.statements.clear();
  e.follow(c.mock, self, primary, kUuid + ":1-120," + kOther + ":1-3");
  EXPECT_THAT(c.statements,
              ::testing::Contains(
                  HasSubstr("CHANGE REPLICATION SOURCE TO SOURCE_HOST = ?, SOURCE_PORT = 3306")));
  EXPECT_THAT(c.statements, ::testing::Contains("SET GLOBAL super_read_only = ON"));
  EXPECT_THAT(c.statements, ::testing::Contains("START REPLICA"));
  EXPECT_THAT(c.bound, ::testing::Contains("10.0.0.5"));
}

TEST(MysqlEngine8, SynchronousModeNeverTimesOutByItself) {
  ScriptedConnection c;
  MysqlEngine e(db::MysqlDialect::mysql8, {"repl", "pw"});
  e.set_sync(c.mock, true);
  EXPECT_THAT(c.statements, ElementsAre("SET GLOBAL rpl_semi_sync_source_timeout = 4294967295",
                                        "SET GLOBAL rpl_semi_sync_source_wait_point = 'AFTER_SYNC'",
                                        "SET GLOBAL rpl_semi_sync_source_enabled = ON"));
}

TEST(MariadbEngine, FenceEndsSessionsBeforeReadOnly) {
  ScriptedConnection c;
  c.answer("PROCESSLIST", table({"ID"}, {{"41"}, {"42"}}));
  MysqlEngine e(db::MysqlDialect::mariadb, {"repl", "pw"});
  e.fence(c.mock);
  EXPECT_THAT(c.statements,
              ElementsAre("SET SESSION lock_wait_timeout = 2", HasSubstr("PROCESSLIST"),
                          "KILL CONNECTION 41", "KILL CONNECTION 42", "SET GLOBAL read_only = ON"));
}

TEST(MariadbEngine, ObservesSilentStreamAndErrantTransactions) {
  ScriptedConnection c;
  c.answer("Rpl_semi_sync_master", table({"Variable_name", "Value"}, {}));
  c.answer("@@global.read_only", table({"ro", "binlog", "slave"}, {{"1", "0-2-12", "0-1-10"}}));
  c.answer("SHOW ALL SLAVES STATUS", table({"Master_Host", "Master_Port", "Slave_IO_Running",
                                            "Gtid_IO_Pos", "Slave_received_heartbeats"},
                                           {{"127.0.0.1", "3306", "Yes", "0-1-10", "17"}}));
  MysqlEngine e(db::MysqlDialect::mariadb, {"repl", "pw"});
  const auto o = e.observe(c.mock);
  EXPECT_TRUE(o.replicating);
  EXPECT_EQ(o.source, "127.0.0.1:3306");
  EXPECT_EQ(o.receiver_progress, 27);  // 17 heartbeats + sequence 10
  EXPECT_EQ(o.errant, "0:11-12");      // written here, never received
}

TEST(PostgresEngine, FenceIsPersistentReadOnlyAndEndsClientSessions) {
  ScriptedConnection c;
  PostgresEngine e({"postgres", ""});
  e.fence(c.mock);
  EXPECT_THAT(c.statements,
              ElementsAre("ALTER SYSTEM SET default_transaction_read_only = on",
                          "SELECT pg_reload_conf()", HasSubstr("pg_terminate_backend")));
}

TEST(PostgresEngine, FollowRefusesARunningPrimary) {
  ScriptedConnection c;
  c.answer("pg_is_in_recovery", table({"r"}, {{"false"}}));
  PostgresEngine e({"postgres", ""});
  EXPECT_THROW(e.follow(c.mock, {.name = "a", .port = 1}, {.name = "b", .port = 2}, ""),
               EngineRefusal);
  EXPECT_EQ(standby_conninfo({.name = "a", .port = 1}, {.name = "b", .port = 2}, {"repl", "p'w"}),
            "host='127.0.0.1' port=2 user='repl' application_name='a' connect_timeout=2 "
            "password='p\\'w'");
}

}  // namespace
}  // namespace medgate::dbmon
