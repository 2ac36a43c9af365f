// The seam between the monitor and a database engine: what the monitor reads from a node and
// the few things it does to one. Every call runs on one node's connection, on that node's
// own worker thread; drivers bound their I/O with timeouts. Implementations: MysqlEngine
// (MariaDB 10.11 and MySQL 8.0/8.4 dialects) and PostgresEngine; tests use MockEngine.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "clients/db/db.hpp"
#include "db-monitors/monitor_core.hpp"
#include "db-monitors/observation.hpp"
#include "db-monitors/position.hpp"

namespace medgate::dbmon {

// An operation the engine will not do because it would be unsafe (a node with transactions
// the primary lacks, a PostgreSQL primary that can only become a standby by a restart):
// a decision for an operator, not a failure to reach the node.
class EngineRefusal : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Replication credentials the engine gives a replica it points at a primary.
struct ReplicationLogin {
  std::string user;
  std::string password;
};

class Engine {
 public:
  virtual ~Engine() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;

  // Role, positions and replication state. Reads the synchronous-replication state before
  // the position (the decision core relies on that order). Throws db::DbError.
  [[nodiscard]] virtual NodeObservation observe(db::DbConnection& c) = 0;
  // Connection errors that prove the server is alive: authentication, TLS, too many
  // connections, starting up.
  [[nodiscard]] virtual bool proves_alive(const db::DbError& e) const = 0;

  // Read-only (MySQL 8: super_read_only), application sessions ended. Ending a session
  // whose commit waits for a replica's acknowledgement completes that commit locally
  // (MariaDB/MySQL), so an old primary back from a hang is better fenced by a restart
  // (db-monitors/fence.hpp).
  virtual void fence(db::DbConnection& c) = 0;
  // A replica becomes the primary: stop receiving, apply everything received (bounded by
  // `apply_timeout`), stop replicating, synchronous mode as asked, writable.
  virtual void promote(db::DbConnection& c, Duration apply_timeout, bool sync) = 0;
  // A node that is not replicating becomes writable (synchronous mode first, as asked).
  virtual void make_writable(db::DbConnection& c, bool sync) = 0;
  virtual void set_sync(db::DbConnection& c, bool enable) = 0;
  // What the node has written (a primary) or applied (a replica).
  [[nodiscard]] virtual Position written(db::DbConnection& c) = 0;
  // Waits until the replica has applied `p`; throws db::DbError on timeout.
  virtual void wait_applied(db::DbConnection& c, const Position& p, Duration timeout) = 0;
  // The primary's history in the engine's own terms, for follow(): MariaDB
  // @@gtid_binlog_state (the last GTID of every server in every domain), MySQL
  // @@gtid_executed, PostgreSQL nothing (pg_rewind decides).
  [[nodiscard]] virtual std::string history(db::DbConnection& primary) = 0;
  // Points the node at `primary`. Throws EngineRefusal when the node has transactions the
  // primary's `history` lacks, or when the engine cannot do it in place.
  virtual void follow(db::DbConnection& c, const NodeSpec& self, const NodeSpec& primary,
                      const std::string& history) = 0;
  // One small write on the primary (the monitor's heartbeat row) to prove it takes writes.
  virtual void write_probe(db::DbConnection& c, uint64_t epoch) = 0;
};

}  // namespace medgate::dbmon
