// Engine for PostgreSQL 15 streaming replication over libpq (through db::DbConnection).
// - Role: pg_is_in_recovery() and default_transaction_read_only (the fence).
// - Stream: pg_stat_wal_receiver; progress is last_msg_receipt_time, which keeps moving
//   while idle when standbys run with a short wal_receiver_timeout (they ask for a reply at
//   half of it).
// - Synchronous mode: synchronous_standby_names = 'ANY 1 (*)' or '' (ALTER SYSTEM, so it
//   survives a restart).
// - A running primary cannot become a standby in place: follow() refuses it, and the node's
//   start wrapper (scripts/lib/pg-node-start) rewinds it when it is restarted.
#pragma once

#include "db-monitors/engine.hpp"

namespace medgate::dbmon {

class PostgresEngine final : public Engine {
 public:
  explicit PostgresEngine(ReplicationLogin replication) : replication_(std::move(replication)) {}

  [[nodiscard]] std::string_view name() const override { return "postgresql"; }
  [[nodiscard]] NodeObservation observe(db::DbConnection& c) override;
  [[nodiscard]] bool proves_alive(const db::DbError& e) const override;
  void fence(db::DbConnection& c) override;
  void promote(db::DbConnection& c, Duration apply_timeout, bool sync) override;
  void make_writable(db::DbConnection& c, bool sync) override;
  void set_sync(db::DbConnection& c, bool enable) override;
  [[nodiscard]] Position written(db::DbConnection& c) override;
  void wait_applied(db::DbConnection& c, const Position& p, Duration timeout) override;
  [[nodiscard]] std::string history(db::DbConnection& primary) override;
  void follow(db::DbConnection& c, const NodeSpec& self, const NodeSpec& primary,
              const std::string& history) override;
  void write_probe(db::DbConnection& c, uint64_t epoch) override;

 private:
  ReplicationLogin replication_;
};

// The primary_conninfo a standby named `self` uses to stream from `primary` (exposed for the
// start wrapper's tests and the CLI).
[[nodiscard]] std::string standby_conninfo(const NodeSpec& self, const NodeSpec& primary,
                                           const ReplicationLogin& login);

}  // namespace medgate::dbmon
