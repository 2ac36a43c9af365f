// Numbered schema migrations, embedded in the binary at build time and applied at start-up:
// each version once (recorded in schema_migrations), in order, under a database-wide lock
// so two instances starting together do not race. Statements are separated by a `;` at
// the end of a line.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apps/service-kit/sql_dialect.hpp"
#include "clients/db/db_pool.hpp"

namespace medgate::service {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// Splits a migration into statements (exposed for tests).
[[nodiscard]] std::vector<std::string> split_statements(std::string_view sql);

// Applies what is missing; returns the versions applied now. Runs on the primary.
std::vector<int> apply_migrations(db::DbPool& pool, SqlDialect dialect,
                                  std::span<const Migration> migrations);

}  // namespace medgate::service
