// GMock double of the monitor's engine seam (db-monitors/engine.hpp).
#pragma once

#include <gmock/gmock.h>

#include "db-monitors/engine.hpp"

namespace medgate::testing {

class MockEngine : public dbmon::Engine {
 public:
  MOCK_METHOD(std::string_view, name, (), (const, override));
  MOCK_METHOD(dbmon::NodeObservation, observe, (db::DbConnection & c), (override));
  MOCK_METHOD(bool, proves_alive, (const db::DbError& e), (const, override));
  MOCK_METHOD(void, fence, (db::DbConnection & c), (override));
  MOCK_METHOD(void, promote, (db::DbConnection & c, dbmon::Duration apply_timeout, bool sync),
              (override));
  MOCK_METHOD(void, make_writable, (db::DbConnection & c, bool sync), (override));
  MOCK_METHOD(void, set_sync, (db::DbConnection & c, bool enable), (override));
  MOCK_METHOD(dbmon::Position, written, (db::DbConnection & c), (override));
  MOCK_METHOD(void, wait_applied,
              (db::DbConnection & c, const dbmon::Position& p, dbmon::Duration timeout),
              (override));
  MOCK_METHOD(std::string, history, (db::DbConnection & primary), (override));
  MOCK_METHOD(void, follow,
              (db::DbConnection & c, const dbmon::NodeSpec& self, const dbmon::NodeSpec& primary,
               const std::string& history),
              (override));
  MOCK_METHOD(void, write_probe, (db::DbConnection & c, uint64_t epoch), (override));
};

}  // namespace medgate::testing
