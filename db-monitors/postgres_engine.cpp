#include "db-monitors/postgres_engine.hpp"

#include <thread>

#include "clients/db/postgres_driver.hpp"

namespace medgate::dbmon {

namespace {

using db::DbConnection;
using db::SqlResult;

std::string cell(const SqlResult& r, size_t col, size_t row = 0) {
  if (row >= r.rows.size() || col >= r.rows[row].size())
    return "";
  return r.rows[row][col].value_or("");
}

void run(DbConnection& c, std::string_view sql, const db::SqlParams& params = {}) {
  (void)c.execute(sql, params);
}

Position lsn(const std::string& text) {
  const auto p = Position::from_pg_lsn(text);
  if (!p)
    throw db::DbError(db::DbErrorKind::invalid, "unreadable LSN '" + text + "'");
  return *p;
}

}  // namespace

std::string standby_conninfo(const NodeSpec& self, const NodeSpec& primary,
                             const ReplicationLogin& login) {
  std::string s = "host=" + db::conninfo_value(primary.source_host()) +
                  " port=" + std::to_string(primary.source_port()) +
                  " user=" + db::conninfo_value(login.user) +
                  " application_name=" + db::conninfo_value(self.name) + " connect_timeout=2";
  if (!login.password.empty())
    s += " password=" + db::conninfo_value(login.password);
  return s;
}

NodeObservation PostgresEngine::observe(DbConnection& c) {
  NodeObservation o;
  o.reach = Reach::ok;
  // Synchronous state first, then the position (see Engine::observe).
  const SqlResult s = c.execute(
      "SELECT pg_is_in_recovery()::text, current_setting('default_transaction_read_only'), "
      "current_setting('synchronous_standby_names'), "
      "(SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum'))::text",
      {});
  const bool recovery = cell(s, 0) == "true";
  o.writable = !recovery && cell(s, 1) == "off";
  o.sync_enabled = !recovery && !cell(s, 2).empty();
  o.sync_replicas = o.sync_enabled ? std::stoi(cell(s, 3).empty() ? "0" : cell(s, 3)) : 0;
  if (!recovery) {
    o.applied = lsn(cell(c.execute("SELECT pg_current_wal_lsn()::text", {}), 0));
    o.received = o.applied;
    return o;
  }
  o.replicating = true;
  const SqlResult p = c.execute(
      "SELECT coalesce(pg_last_wal_receive_lsn()::text, ''), "
      "coalesce(pg_last_wal_replay_lsn()::text, '')",
      {});
  o.received = lsn(cell(p, 0));
  o.applied = lsn(cell(p, 1));
  if (o.received.empty())
    o.received = o.applied;  // replayed from pg_wal or an archive, nothing streamed yet
  const SqlResult w = c.execute(
      "SELECT status, coalesce(sender_host, ''), coalesce(sender_port::text, ''), "
      "coalesce((extract(epoch FROM last_msg_receipt_time) * 1000000)::bigint::text, '0') "
      "FROM pg_stat_wal_receiver",
      {});
  if (!w.rows.empty()) {
    o.receiver_running = cell(w, 0) == "streaming";
    if (!cell(w, 1).empty())
      o.source = cell(w, 1) + ":" + cell(w, 2);
    o.receiver_progress = std::stoll(cell(w, 3));
  }
  return o;
}

bool PostgresEngine::proves_alive(const db::DbError& e) const {
  const std::string& code = e.code();
  if (code == "28000" || code == "28P01" || code == "53300" || code == "57P03")
    return true;
  // Connection-time errors come as text only.
  const std::string_view what = e.what();
  for (const char* alive :
       {"password authentication failed", "no pg_hba.conf entry", "too many clients",
        "remaining connection slots", "the database system is starting up",
        "the database system is in recovery mode", "SSL", "does not exist"})
    if (what.find(alive) != std::string_view::npos)
      return true;
  return false;
}

void PostgresEngine::fence(DbConnection& c) {
  // New transactions read-only for everyone (persisted, so a restart keeps it until the
  // start wrapper makes the node a standby), then the sessions that may still write end.
  // Commits waiting for a standby's acknowledgement are never released here: their clients
  // lose the connection and never see them acknowledged.
  run(c, "ALTER SYSTEM SET default_transaction_read_only = on");
  run(c, "SELECT pg_reload_conf()");
  run(c,
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client "
      "backend' AND pid <> pg_backend_pid() AND usename IS DISTINCT FROM current_user");
}

void PostgresEngine::set_sync(DbConnection& c, bool enable) {
  run(c, std::string("ALTER SYSTEM SET synchronous_standby_names = ") +
             (enable ? "'ANY 1 (*)'" : "''"));
  run(c, "SELECT pg_reload_conf()");
}

void PostgresEngine::promote(DbConnection& c, Duration apply_timeout, bool sync) {
  // pg_promote replays everything the standby has received before it ends recovery.
  run(c,
      std::string("ALTER SYSTEM SET synchronous_standby_names = ") + (sync ? "'ANY 1 (*)'" : "''"));
  run(c, "ALTER SYSTEM SET default_transaction_read_only = off");
  const auto secs =
      std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(apply_timeout).count());
  const SqlResult r = c.execute("SELECT pg_promote(true, " + std::to_string(secs) + ")::text", {});
  if (cell(r, 0) != "true")
    throw db::DbError(db::DbErrorKind::unavailable,
                      "pg_promote did not finish within " + std::to_string(secs) + " s");
  run(c, "SELECT pg_reload_conf()");
}

void PostgresEngine::make_writable(DbConnection& c, bool sync) {
  run(c,
      std::string("ALTER SYSTEM SET synchronous_standby_names = ") + (sync ? "'ANY 1 (*)'" : "''"));
  run(c, "ALTER SYSTEM SET default_transaction_read_only = off");
  run(c, "SELECT pg_reload_conf()");
}

Position PostgresEngine::written(DbConnection& c) {
  const SqlResult r = c.execute(
      "SELECT CASE WHEN pg_is_in_recovery() THEN coalesce(pg_last_wal_replay_lsn()::text, '') "
      "ELSE pg_current_wal_lsn()::text END",
      {});
  return lsn(cell(r, 0));
}

void PostgresEngine::wait_applied(DbConnection& c, const Position& p, Duration timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (written(c).covers(p))
      return;
    if (std::chrono::steady_clock::now() >= until)
      throw db::DbError(db::DbErrorKind::unavailable,
                        "position " + p.text() + " not replayed in time");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string PostgresEngine::history(DbConnection& /*primary*/) {
  return {};  // pg_rewind compares timelines itself
}

void PostgresEngine::follow(DbConnection& c, const NodeSpec& self, const NodeSpec& primary,
                            const std::string& /*history*/) {
  const SqlResult r = c.execute("SELECT pg_is_in_recovery()::text", {});
  if (cell(r, 0) != "true")
    throw EngineRefusal(
        "a PostgreSQL primary becomes a standby only through a restart (its start wrapper "
        "rewinds it with pg_rewind)");
  // A standby on another source: point it at the primary; reloading restarts its receiver.
  run(
      c, "ALTER SYSTEM SET primary_conninfo = " + [&] {
        std::string q = "'";
        for (char ch : standby_conninfo(self, primary, replication_)) {
          if (ch == '\'')
            q += '\'';
          q += ch;
        }
        return q + "'";
      }());
  run(c, "ALTER SYSTEM SET primary_slot_name = ''");
  run(c, "SELECT pg_reload_conf()");
}

void PostgresEngine::write_probe(DbConnection& c, uint64_t epoch) {
  run(c,
      "CREATE TABLE IF NOT EXISTS medgate_monitor_heartbeat (id int PRIMARY KEY, epoch bigint "
      "NOT NULL, written_at timestamptz NOT NULL)");
  run(c,
      "INSERT INTO medgate_monitor_heartbeat VALUES (1, $1, now()) ON CONFLICT (id) DO UPDATE "
      "SET epoch = EXCLUDED.epoch, written_at = EXCLUDED.written_at",
      {std::to_string(epoch)});
}

}  // namespace medgate::dbmon
