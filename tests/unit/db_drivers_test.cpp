// Driver pieces that need no server: placeholder binding and error classification.
#include <gtest/gtest.h>

#include "clients/db/mariadb_driver.hpp"
#include "clients/db/postgres_driver.hpp"

namespace medgate::db {
namespace {

std::string quote(const std::string& v) {
  return "'" + v + "'";
}

TEST(BindPlaceholders, ReplacesOnlyPlaceholdersOutsideQuotesAndComments) {
  const std::string sql =
      "SELECT '?', \"a?\", `b?` FROM t -- what?\nWHERE a = ? AND b = ? AND c = 'it''s?'";
  EXPECT_EQ(bind_placeholders(sql, {std::string("x"), std::nullopt}, quote),
            "SELECT '?', \"a?\", `b?` FROM t -- what?\nWHERE a = 'x' AND b = NULL AND c = "
            "'it''s?'");
}

TEST(BindPlaceholders, BackslashEscapesInsideStringsAreSkipped) {
  EXPECT_EQ(bind_placeholders(R"(SELECT 'a\'?' , ?)", {std::string("1")}, quote),
            R"(SELECT 'a\'?' , '1')");
}

TEST(BindPlaceholders, CountMismatchIsAnError) {
  EXPECT_THROW(bind_placeholders("SELECT ?", {}, quote), DbError);
  EXPECT_THROW(bind_placeholders("SELECT 1", {std::string("x")}, quote), DbError);
}

TEST(ErrorClassification, MysqlReadOnlyConflictAndLostConnections) {
  EXPECT_EQ(classify_mysql_errno(1290), DbErrorKind::read_only);
  EXPECT_EQ(classify_mysql_errno(1062), DbErrorKind::conflict);
  EXPECT_EQ(classify_mysql_errno(2013), DbErrorKind::unavailable);
  EXPECT_EQ(classify_mysql_errno(2006), DbErrorKind::unavailable);
  EXPECT_EQ(classify_mysql_errno(1064), DbErrorKind::invalid);  // syntax
}

TEST(ErrorClassification, PostgresSqlstates) {
  EXPECT_EQ(classify_sqlstate("25006"), DbErrorKind::read_only);
  EXPECT_EQ(classify_sqlstate("23505"), DbErrorKind::conflict);
  EXPECT_EQ(classify_sqlstate("57P01"), DbErrorKind::unavailable);
  EXPECT_EQ(classify_sqlstate("08006"), DbErrorKind::unavailable);
  EXPECT_EQ(classify_sqlstate("42601"), DbErrorKind::invalid);
}

TEST(WritableQuery, Mysql8AlsoChecksSuperReadOnly) {
  EXPECT_NE(writable_query(MysqlDialect::mysql8).find("super_read_only"), std::string::npos);
  EXPECT_EQ(writable_query(MysqlDialect::mariadb).find("super_read_only"), std::string::npos);
}

}  // namespace
}  // namespace medgate::db
