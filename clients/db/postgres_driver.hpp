// DbDriver over libpq (PostgreSQL). Placeholders are $1, $2, ...
#pragma once

#include "clients/db/db.hpp"

namespace medgate::db {

class PostgresDriver final : public DbDriver {
 public:
  std::unique_ptr<DbConnection> connect(const DbNode& node,
                                        std::chrono::milliseconds timeout) override;
};

// Maps a PostgreSQL SQLSTATE to our error kinds (exposed for tests).
[[nodiscard]] DbErrorKind classify_sqlstate(std::string_view sqlstate);

}  // namespace medgate::db
