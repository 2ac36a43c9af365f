// DbDriver over libpq (PostgreSQL). Placeholders are $1, $2, ...
//
// Connecting and every statement run on libpq's non-blocking interface with our own poll()
// deadlines (millisecond precision): a server that stops answering (SIGSTOP, a hung disk, a
// partition) costs a caller at most `connect_timeout` or `io_timeout`, never a thread. A
// statement that times out leaves the connection unusable (it is closed); its outcome on the
// server is unknown.
#pragma once

#include "clients/db/db.hpp"

namespace medgate::db {

class PostgresDriver final : public DbDriver {
 public:
  // io_timeout 0: statements may wait without bound (the server's own timeouts apply).
  explicit PostgresDriver(std::chrono::milliseconds io_timeout = std::chrono::seconds(30))
      : io_timeout_(io_timeout) {}
  std::unique_ptr<DbConnection> connect(const DbNode& node,
                                        std::chrono::milliseconds timeout) override;

 private:
  std::chrono::milliseconds io_timeout_;
};

// A value quoted for a libpq connection string (single quotes, backslash escapes).
[[nodiscard]] std::string conninfo_value(std::string_view v);

// Maps a PostgreSQL SQLSTATE to our error kinds (exposed for tests).
[[nodiscard]] DbErrorKind classify_sqlstate(std::string_view sqlstate);

}  // namespace medgate::db
