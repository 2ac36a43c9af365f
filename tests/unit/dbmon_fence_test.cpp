// How an old primary back from a hang is fenced: by its restart command when it has one
// (ending sessions mid-commit would commit them locally), else by SQL.
#include "db-monitors/fence.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/db_mocks.hpp"
#include "tests/support/engine_mock.hpp"

namespace medgate::dbmon {
namespace {

using ::testing::NiceMock;

class FenceReturningPrimary : public ::testing::Test {
 protected:
  NiceMock<testing::MockEngine> engine;
  NiceMock<testing::MockDbConnection> conn;
  std::vector<std::string> ran;
  int exit_status = 0;
  std::function<int(const std::string&)> run = [this](const std::string& c) {
    ran.push_back(c);
    return exit_status;
  };
};

TEST_F(FenceReturningPrimary, ARestartCommandIsRunInsteadOfEndingSessions) {
  EXPECT_CALL(engine, fence).Times(0);
  EXPECT_EQ(fence_returning_primary(engine, conn, "kill node-a", run), FenceWay::restart);
  EXPECT_EQ(ran, std::vector<std::string>{"kill node-a"});
}

TEST_F(FenceReturningPrimary, WithoutACommandOrWhenItFailsTheSqlFenceRuns) {
  EXPECT_CALL(engine, fence).Times(2);
  EXPECT_EQ(fence_returning_primary(engine, conn, "", run), FenceWay::sql);
  EXPECT_TRUE(ran.empty());
  exit_status = 1;
  EXPECT_EQ(fence_returning_primary(engine, conn, "kill node-a", run), FenceWay::sql);
  EXPECT_EQ(ran.size(), 1u);
}

}  // namespace
}  // namespace medgate::dbmon
