#include "db-monitors/position.hpp"

#include <gtest/gtest.h>

namespace medgate::dbmon {
namespace {

TEST(PositionTest, MariadbGtidListPerDomain) {
  const auto a = Position::from_mariadb_gtid("0-1-100,1-2-7");
  ASSERT_TRUE(a);
  const auto b = Position::from_mariadb_gtid("0-2-98, 1-2-7");
  ASSERT_TRUE(b);
  EXPECT_TRUE(a->covers(*b));
  EXPECT_FALSE(b->covers(*a));
  EXPECT_EQ(b->missing_from(*a), 2u);
  EXPECT_EQ(a->text(), "0-1-100,1-2-7");
  // A domain the other has never seen counts entirely.
  const auto c = Position::from_mariadb_gtid("0-1-100,2-3-5");
  EXPECT_EQ(a->missing_from(*c), 5u);
  EXPECT_EQ(c->minus(*a).text(), "2:1-5");
}

TEST(PositionTest, MariadbRejectsMalformed) {
  EXPECT_FALSE(Position::from_mariadb_gtid("0-1"));
  EXPECT_FALSE(Position::from_mariadb_gtid("x-1-2"));
  EXPECT_FALSE(Position::from_mariadb_gtid("0-1-2,0-1-3"));
  EXPECT_TRUE(Position::from_mariadb_gtid("")->empty());
}

TEST(PositionTest, MysqlGtidSetsAreExactSets) {
  const std::string u = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
  const auto a = Position::from_mysql_gtid_set(u + ":1-100:105-110");
  const auto b = Position::from_mysql_gtid_set(u + ":1-110");
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(a->covers(*b));  // the gap 101-104
  EXPECT_EQ(a->missing_from(*b), 4u);
  EXPECT_TRUE(b->covers(*a));
  const auto multi = Position::from_mysql_gtid_set(u + ":1-5,\n" + u.substr(0, 35) + "3:1-2");
  ASSERT_TRUE(multi);
  EXPECT_EQ(multi->parts().size(), 2u);
  EXPECT_FALSE(Position::from_mysql_gtid_set("short:1-2"));
  EXPECT_FALSE(Position::from_mysql_gtid_set(u + ":5-2"));
}

TEST(PositionTest, PostgresLsnIsBytes) {
  const auto a = Position::from_pg_lsn("0/3000060");
  const auto b = Position::from_pg_lsn("1/0");
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(b->covers(*a));
  EXPECT_EQ(a->missing_from(*b), (1ULL << 32) - 0x3000060ULL);
  EXPECT_EQ(format_pg_lsn((1ULL << 32) + 0x60), "1/60");
  EXPECT_FALSE(Position::from_pg_lsn("zz"));
}

}  // namespace
}  // namespace medgate::dbmon
