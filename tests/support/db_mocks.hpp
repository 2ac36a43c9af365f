// GMock doubles for the database seam (clients/db/db.hpp).
#pragma once

#include <gmock/gmock.h>

#include "clients/db/db.hpp"

namespace medgate::testing {

class MockDbConnection : public db::DbConnection {
 public:
  MOCK_METHOD(db::SqlResult, execute, (std::string_view sql, const db::SqlParams& params),
              (override));
  MOCK_METHOD(void, begin, (), (override));
  MOCK_METHOD(void, commit, (), (override));
  MOCK_METHOD(void, rollback, (), (override));
  MOCK_METHOD(bool, in_transaction, (), (const, override));
  MOCK_METHOD(bool, writable, (), (override));
  MOCK_METHOD(bool, ping, (), (override));
  MOCK_METHOD(const db::DbNode&, node, (), (const, override));
  MOCK_METHOD(void, set_abandon, (std::shared_ptr<const db::AbandonSignal> signal), (override));
};

class MockDbDriver : public db::DbDriver {
 public:
  MOCK_METHOD(std::unique_ptr<db::DbConnection>, connect,
              (const db::DbNode& node, std::chrono::milliseconds timeout), (override));
};

}  // namespace medgate::testing
