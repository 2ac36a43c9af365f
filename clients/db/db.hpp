// Database access seam: a blocking connection interface that drivers (libpq, MariaDB
// Connector/C) implement and that tests replace with a GMock double. Blocking on purpose:
// DbPool runs every call on its own worker threads, never on an io_context thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "clients/db/abandon_signal.hpp"

namespace medgate::db {

// Parameters and values travel as text; NULL is nullopt. Each driver binds them safely
// (libpq: PQexecParams; MariaDB: escaped by the connection's own charset).
using SqlValue = std::optional<std::string>;
using SqlParams = std::vector<SqlValue>;

struct SqlResult {
  std::vector<std::string> columns;
  std::vector<std::vector<SqlValue>> rows;
  uint64_t affected_rows = 0;
  uint64_t insert_id = 0;  // MariaDB/MySQL AUTO_INCREMENT; 0 elsewhere

  // Value of column `name` in row `r` (throws std::out_of_range when there is no such column).
  [[nodiscard]] const SqlValue& at(size_t r, std::string_view name) const;
};

enum class DbErrorKind : uint8_t {
  unavailable,      // could not connect, or the connection broke: try another node
  read_only,        // the node refused a write: it is (now) a replica or fenced
  conflict,         // unique / primary key violation
  invalid,          // bad SQL or data (a bug or bad input), not retryable
  busy,             // no connection became free in time, or a statement/lock wait timed out
  aborted,          // the server rolled the transaction back (deadlock, serialization failure):
                    // nothing of it happened, so it may run again on the same connection
  outcome_unknown,  // the connection broke during COMMIT: it may or may not have committed,
                    // so running the work again could apply it twice
};

class DbError : public std::runtime_error {
 public:
  // `code`: the server's own error code when there is one (MariaDB/MySQL errno, PostgreSQL
  // SQLSTATE), so callers can tell "alive but refusing" from "gone".
  DbError(DbErrorKind kind, const std::string& what, std::string code = {})
      : std::runtime_error(what), kind_(kind), code_(std::move(code)) {}
  [[nodiscard]] DbErrorKind kind() const noexcept { return kind_; }
  [[nodiscard]] const std::string& code() const noexcept { return code_; }
  // Worth retrying on another connection (after rediscovering the primary).
  [[nodiscard]] bool retryable() const noexcept {
    return kind_ == DbErrorKind::unavailable || kind_ == DbErrorKind::read_only;
  }

 private:
  DbErrorKind kind_;
  std::string code_;
};

struct DbNode {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string user;
  std::string password;
  std::string database;
  [[nodiscard]] std::string label() const { return host + ":" + std::to_string(port); }
};

class DbConnection {
 public:
  virtual ~DbConnection() = default;
  // Runs one statement with `params` bound to its placeholders ($1.. for PostgreSQL, ? for
  // MariaDB/MySQL). Throws DbError.
  virtual SqlResult execute(std::string_view sql, const SqlParams& params) = 0;
  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
  // Whether a transaction is open (or failed and not yet rolled back), from the driver's
  // own view of the server status: no round trip.
  [[nodiscard]] virtual bool in_transaction() const = 0;
  // Asks the server whether it takes writes (PostgreSQL: not in recovery and not
  // read-only; MariaDB: @@read_only off; MySQL 8: also @@super_read_only off).
  [[nodiscard]] virtual bool writable() = 0;
  // A cheap round trip; false when the connection is no longer usable.
  [[nodiscard]] virtual bool ping() = 0;
  [[nodiscard]] virtual const DbNode& node() const = 0;
  // Statements from now on end by `deadline` as well as by the driver's own I/O bound
  // (the caller's budget); nullopt lifts it. A statement cut off breaks the connection.
  // Drivers that cannot bound a statement below their I/O timeout ignore it.
  virtual void set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline) {
    (void)deadline;
  }
  // Statements from now on also end as soon as `signal` fires (nullptr: none), with
  // DbError(unavailable) naming its reason, and the connection is broken: a COMMIT so ended
  // has an unknown outcome. Drivers that cannot wait on it ignore it.
  virtual void set_abandon(std::shared_ptr<const AbandonSignal> signal) { (void)signal; }
};

class DbDriver {
 public:
  virtual ~DbDriver() = default;
  // Connects within `timeout`; throws DbError(unavailable) when the node cannot be reached.
  virtual std::unique_ptr<DbConnection> connect(const DbNode& node,
                                                std::chrono::milliseconds timeout) = 0;
};

}  // namespace medgate::db
