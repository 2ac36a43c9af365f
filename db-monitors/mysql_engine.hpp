// Engine for MariaDB 10.11 (GTID domains, semi-sync "master" variables, SHOW ALL SLAVES
// STATUS, MASTER_GTID_WAIT, read_only) and MySQL 8.0/8.4 (GTID sets, performance_schema
// replication tables, "source"/"replica" syntax, WAIT_FOR_EXECUTED_GTID_SET,
// super_read_only). Both over MariaDB Connector/C through db::DbConnection.
#pragma once

#include "clients/db/mariadb_driver.hpp"
#include "db-monitors/engine.hpp"

namespace medgate::dbmon {

class MysqlEngine final : public Engine {
 public:
  MysqlEngine(db::MysqlDialect dialect, ReplicationLogin replication,
              Duration heartbeat_period = std::chrono::milliseconds(500))
      : dialect_(dialect),
        replication_(std::move(replication)),
        heartbeat_period_(heartbeat_period) {}

  [[nodiscard]] std::string_view name() const override {
    return dialect_ == db::MysqlDialect::mysql8 ? "mysql8" : "mariadb";
  }
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
  [[nodiscard]] bool mysql8() const { return dialect_ == db::MysqlDialect::mysql8; }
  [[nodiscard]] Position parse(const std::string& text) const;
  void sync_statements(db::DbConnection& c, bool enable);

  db::MysqlDialect dialect_;
  ReplicationLogin replication_;
  Duration heartbeat_period_;
};

// MariaDB: the GTIDs of `own` (a gtid_binlog_pos, "d-s-n,...") that a primary whose
// gtid_binlog_state is `state` lacks, rendered "d-s-a..n"; empty when it has them all. With
// gtid_strict_mode every server's sequence in a domain only grows, so the primary has d-s-n
// exactly when its state holds d-s-m with m >= n. A domain/sequence alone cannot tell: after
// a failover the new primary reuses the old one's sequence numbers under its own server id.
[[nodiscard]] std::string mariadb_missing(std::string_view own, std::string_view state);

}  // namespace medgate::dbmon
