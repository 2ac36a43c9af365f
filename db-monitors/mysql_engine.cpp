#include "db-monitors/mysql_engine.hpp"

#include <chrono>
#include <cstdio>
#include <thread>

namespace medgate::dbmon {

namespace {

using db::DbConnection;
using db::SqlResult;

// A column of a row, "" for NULL or no such row; a column the server did not return is an
// error (SqlResult::at throws): another server version, not an empty value.
std::string value(const SqlResult& r, std::string_view column, size_t row = 0) {
  return row < r.rows.size() ? r.at(row, column).value_or("") : std::string();
}

int64_t number(const std::string& s) {
  try {
    return s.empty() ? 0 : std::stoll(s);
  } catch (const std::exception&) {
    return 0;
  }
}

std::string seconds_text(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f",
                std::chrono::duration_cast<std::chrono::duration<double>>(d).count());
  return buf;
}

void run(DbConnection& c, std::string_view sql, const db::SqlParams& params = {}) {
  (void)c.execute(sql, params);
}

// MariaDB's STOP SLAVE signals the I/O thread and, when that thread is blocked reading from a
// primary that no longer answers (hung, not dead), misses it and signals again only after 2 s:
// 2 s of a failover spent waiting. KILL closes the thread's socket at once; the thread then
// reconnects, and a STOP during a reconnect takes milliseconds. Best effort: without the
// privilege (CONNECTION ADMIN) or the thread, the plain STOP still works, only slower.
void unblock_io_thread(DbConnection& c) {
  std::string id;
  try {
    id =
        value(c.execute("SELECT ID FROM information_schema.PROCESSLIST "
                        "WHERE COMMAND = 'Slave_IO' AND STATE = 'Waiting for master to send event'",
                        {}),
              "ID");
    if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
      return;
    run(c, "KILL " + id);
    // Wait (briefly) for the thread to leave its blocked read before STOP signals it.
    for (int i = 0; i < 100; ++i) {
      const SqlResult still = c.execute(
          "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ? AND "
          "STATE = 'Waiting for master to send event'",
          {id});
      if (value(still, "n") == "0")
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  } catch (const db::DbError& e) {
    if (e.kind() == db::DbErrorKind::unavailable || e.kind() == db::DbErrorKind::outcome_unknown)
      throw;  // the replica itself stopped answering: the promotion cannot go on
  }
}

// Two statuses as name -> value.
std::map<std::string, std::string> status(DbConnection& c, std::string_view sql) {
  std::map<std::string, std::string> out;
  const SqlResult r = c.execute(sql, {});
  for (const auto& row : r.rows)
    if (row.size() >= 2 && row[0] && row[1])
      out[*row[0]] = *row[1];
  return out;
}

}  // namespace

Position MysqlEngine::parse(const std::string& text) const {
  const auto p = mysql8() ? Position::from_mysql_gtid_set(text) : Position::from_mariadb_gtid(text);
  if (!p)
    throw db::DbError(db::DbErrorKind::invalid, "unreadable GTID position '" + text + "'");
  return *p;
}

NodeObservation MysqlEngine::observe(DbConnection& c) {
  NodeObservation o;
  o.reach = Reach::ok;
  // The synchronous state first, then positions (see Engine::observe).
  const auto sync = mysql8()
                        ? status(c,
                                 "SHOW GLOBAL STATUS WHERE Variable_name IN "
                                 "('Rpl_semi_sync_source_status', 'Rpl_semi_sync_source_clients')")
                        : status(c,
                                 "SHOW GLOBAL STATUS WHERE Variable_name IN "
                                 "('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients')");
  const std::string prefix = mysql8() ? "Rpl_semi_sync_source_" : "Rpl_semi_sync_master_";
  const auto st = sync.find(prefix + "status");
  const auto clients = sync.find(prefix + "clients");
  o.sync_enabled = st != sync.end() && st->second == "ON";
  o.sync_replicas = clients == sync.end() ? 0 : static_cast<int>(number(clients->second));

  if (mysql8()) {
    const SqlResult g = c.execute(
        "SELECT @@global.read_only AS ro, @@global.super_read_only AS sro, "
        "@@global.gtid_executed AS executed",
        {});
    o.writable = value(g, "ro") == "0" && value(g, "sro") == "0";
    const Position executed = parse(value(g, "executed"));
    const SqlResult rs = c.execute(
        "SELECT s.SERVICE_STATE AS state, s.RECEIVED_TRANSACTION_SET AS received, "
        "s.COUNT_RECEIVED_HEARTBEATS AS heartbeats, c.HOST AS host, c.PORT AS port "
        "FROM performance_schema.replication_connection_status s "
        "JOIN performance_schema.replication_connection_configuration c USING (CHANNEL_NAME) "
        "WHERE s.CHANNEL_NAME = ''",
        {});
    o.applied = executed;
    if (!rs.rows.empty()) {
      o.replicating = true;
      o.source = value(rs, "host") + ":" + value(rs, "port");
      o.receiver_running = value(rs, "state") == "ON";
      // Everything executed was received (or written here: see errant below).
      Position received = parse(value(rs, "received"));
      for (const auto& [comp, ivs] : executed.parts())
        for (const auto& [a, b] : ivs)
          received.add(comp, a, b);
      o.received = received;
      o.receiver_progress = number(value(rs, "heartbeats"));
      for (const auto& [comp, ivs] : o.received.parts())
        for (const auto& [a, b] : ivs)
          o.receiver_progress += static_cast<int64_t>(b - a + 1);
      // Errant: executed here, never received from a source.
      const SqlResult e = c.execute(
          "SELECT GTID_SUBTRACT(@@global.gtid_executed, RECEIVED_TRANSACTION_SET) AS errant "
          "FROM performance_schema.replication_connection_status WHERE CHANNEL_NAME = ''",
          {});
      o.errant = value(e, "errant");
    }
    return o;
  }

  const SqlResult g = c.execute(
      "SELECT @@global.read_only AS ro, @@global.gtid_binlog_pos AS binlog, "
      "@@global.gtid_slave_pos AS slave",
      {});
  o.writable = value(g, "ro") == "0";
  const Position binlog = parse(value(g, "binlog"));
  const SqlResult rs = c.execute("SHOW ALL SLAVES STATUS", {});
  if (rs.rows.empty()) {
    o.applied = binlog;
    o.received = binlog;
    return o;
  }
  o.replicating = true;
  o.source = value(rs, "Master_Host") + ":" + value(rs, "Master_Port");
  o.receiver_running = value(rs, "Slave_IO_Running") == "Yes";
  const std::string io_pos = value(rs, "Gtid_IO_Pos");
  const Position slave = parse(value(g, "slave"));
  o.applied = slave;
  o.received = io_pos.empty() ? slave : parse(io_pos);
  o.receiver_progress = number(value(rs, "Slave_received_heartbeats"));
  for (const auto& [comp, ivs] : o.received.parts())
    if (!ivs.empty())
      o.receiver_progress += static_cast<int64_t>(ivs.back().second);
  // Written here but never received: with log_slave_updates the binlog holds what was
  // replicated too, so anything beyond what was received is the node's own.
  Position known = o.received;
  for (const auto& [comp, ivs] : slave.parts())
    for (const auto& [a, b] : ivs)
      known.add(comp, a, b);
  const Position errant = binlog.minus(known);
  o.errant = errant.empty() ? "" : errant.text();
  return o;
}

bool MysqlEngine::proves_alive(const db::DbError& e) const {
  static const char* const kAlive[] = {
      "1040",  // too many connections
      "1044",  // access denied to the database
      "1045",  // access denied
      "1129",  // host blocked
      "1130",  // host not allowed
      "1203",  // max_user_connections
      "1226",  // user resource limit
      "1251",  // client does not support the authentication protocol
      "2026",  // TLS error (the server answered the handshake)
      "2059",  // authentication plugin cannot be loaded
      "2061",  // authentication requires a secure connection
  };
  for (const char* code : kAlive)
    if (e.code() == code)
      return true;
  return false;
}

void MysqlEngine::fence(DbConnection& c) {
  // Read-only must not wait behind commits stuck on a missing acknowledgement (they hold
  // the lock it needs): end the application sessions first, then set it, bounded.
  run(c, "SET SESSION lock_wait_timeout = 2");
  const SqlResult sessions = c.execute(
      "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() "
      "AND USER NOT IN ('system user', 'event_scheduler') "
      "AND USER <> SUBSTRING_INDEX(CURRENT_USER(), '@', 1) "
      "AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', "
      "'Slave_SQL', 'Slave_worker')",
      {});
  for (const auto& row : sessions.rows) {
    if (!row.empty() && row[0]) {
      try {
        run(c, "KILL CONNECTION " + std::to_string(number(*row[0])));
      } catch (const db::DbError&) {
        // gone already
      }
    }
  }
  run(c, mysql8() ? "SET GLOBAL super_read_only = ON" : "SET GLOBAL read_only = ON");
}

void MysqlEngine::sync_statements(DbConnection& c, bool enable) {
  // The timeout is effectively infinite: only the monitor relaxes a primary to
  // asynchronous, never the server on its own (MariaDB's default would after 10 s).
  if (mysql8()) {
    if (enable) {
      run(c, "SET GLOBAL rpl_semi_sync_source_timeout = 4294967295");
      run(c, "SET GLOBAL rpl_semi_sync_source_wait_point = 'AFTER_SYNC'");
    }
    run(c, std::string("SET GLOBAL rpl_semi_sync_source_enabled = ") + (enable ? "ON" : "OFF"));
  } else {
    if (enable) {
      run(c, "SET GLOBAL rpl_semi_sync_master_timeout = 4294967295");
      run(c, "SET GLOBAL rpl_semi_sync_master_wait_point = 'AFTER_SYNC'");
    }
    run(c, std::string("SET GLOBAL rpl_semi_sync_master_enabled = ") + (enable ? "ON" : "OFF"));
  }
}

void MysqlEngine::set_sync(DbConnection& c, bool enable) {
  sync_statements(c, enable);
}

void MysqlEngine::promote(DbConnection& c, Duration apply_timeout, bool sync) {
  const auto secs = seconds_text(apply_timeout);
  if (mysql8()) {
    run(c, "SET GLOBAL rpl_semi_sync_source_enabled = OFF");
    run(c, "STOP REPLICA IO_THREAD");
    const SqlResult rs = c.execute(
        "SELECT RECEIVED_TRANSACTION_SET AS received FROM "
        "performance_schema.replication_connection_status WHERE CHANNEL_NAME = ''",
        {});
    const std::string received = value(rs, "received");
    if (!received.empty()) {
      const SqlResult w =
          c.execute("SELECT WAIT_FOR_EXECUTED_GTID_SET(?, " + secs + ") AS r", {received});
      if (value(w, "r") != "0")
        throw db::DbError(db::DbErrorKind::unavailable,
                          "relay log not applied within " + secs + " s");
    }
    run(c, "STOP REPLICA");
    run(c, "RESET REPLICA ALL");
    sync_statements(c, sync);
    run(c, "SET GLOBAL super_read_only = OFF");
    run(c, "SET GLOBAL read_only = OFF");
    return;
  }
  // A replica must never be a semi-sync primary itself: with log_slave_updates its SQL
  // thread would wait for an acknowledgement from replicas it does not have.
  run(c, "SET GLOBAL rpl_semi_sync_master_enabled = OFF");
  unblock_io_thread(c);
  run(c, "STOP SLAVE IO_THREAD");
  const SqlResult rs = c.execute("SHOW ALL SLAVES STATUS", {});
  const std::string io_pos = value(rs, "Gtid_IO_Pos");
  if (!io_pos.empty()) {
    const SqlResult w = c.execute("SELECT MASTER_GTID_WAIT(?, " + secs + ") AS r", {io_pos});
    if (value(w, "r") != "0")
      throw db::DbError(db::DbErrorKind::unavailable,
                        "relay log up to " + io_pos + " not applied within " + secs + " s");
  }
  run(c, "STOP SLAVE");
  run(c, "RESET SLAVE ALL");
  sync_statements(c, sync);
  run(c, "SET GLOBAL read_only = OFF");
}

void MysqlEngine::make_writable(DbConnection& c, bool sync) {
  sync_statements(c, sync);
  if (mysql8())
    run(c, "SET GLOBAL super_read_only = OFF");
  run(c, "SET GLOBAL read_only = OFF");
}

Position MysqlEngine::written(DbConnection& c) {
  const SqlResult r = c.execute(
      mysql8() ? "SELECT @@global.gtid_executed AS p" : "SELECT @@global.gtid_binlog_pos AS p", {});
  return parse(value(r, "p"));
}

void MysqlEngine::wait_applied(DbConnection& c, const Position& p, Duration timeout) {
  if (p.empty())
    return;
  const auto secs = seconds_text(timeout);
  const SqlResult w = c.execute(mysql8() ? "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, " + secs + ") AS r"
                                         : "SELECT MASTER_GTID_WAIT(?, " + secs + ") AS r",
                                {p.text()});
  if (value(w, "r") != "0")
    throw db::DbError(db::DbErrorKind::unavailable,
                      "position " + p.text() + " not applied within " + secs + " s");
}

std::string MysqlEngine::history(DbConnection& c) {
  const SqlResult r = c.execute(
      mysql8() ? "SELECT @@global.gtid_executed AS h" : "SELECT @@global.gtid_binlog_state AS h",
      {});
  return value(r, "h");
}

std::string mariadb_missing(std::string_view own, std::string_view state) {
  struct Gtid {
    uint64_t domain, server, seq;
  };
  auto parse_list = [](std::string_view text) {
    std::vector<Gtid> out;
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find(',', start);
      if (end == std::string_view::npos)
        end = text.size();
      std::string item(text.substr(start, end - start));
      start = end + 1;
      item.erase(0, item.find_first_not_of(" \n\t"));
      if (item.empty())
        continue;
      unsigned long long d = 0, s = 0, n = 0;
      if (std::sscanf(item.c_str(), "%llu-%llu-%llu", &d, &s, &n) != 3)
        throw db::DbError(db::DbErrorKind::invalid, "unreadable GTID '" + item + "'");
      out.push_back({d, s, n});
    }
    return out;
  };
  const auto mine = parse_list(own);
  const auto theirs = parse_list(state);
  std::string missing;
  for (const auto& g : mine) {
    uint64_t have = 0;
    for (const auto& t : theirs)
      if (t.domain == g.domain && t.server == g.server)
        have = std::max(have, t.seq);
    if (have < g.seq) {
      missing += missing.empty() ? "" : ",";
      missing += std::to_string(g.domain) + "-" + std::to_string(g.server) + "-" +
                 std::to_string(have + 1) + (have + 1 == g.seq ? "" : ".." + std::to_string(g.seq));
    }
  }
  return missing;
}

void MysqlEngine::follow(DbConnection& c, const NodeSpec& /*self*/, const NodeSpec& primary,
                         const std::string& history) {
  // Nothing of its own that the primary lacks: otherwise replicating would either fail
  // (strict GTID mode) or keep a write no client of the new primary can see.
  std::string extra;
  if (mysql8()) {
    const Position missing = written(c).minus(parse(history));
    extra = missing.empty() ? "" : missing.text();
  } else {
    extra =
        mariadb_missing(value(c.execute("SELECT @@global.gtid_binlog_pos AS p", {}), "p"), history);
  }
  if (!extra.empty())
    throw EngineRefusal("has transactions the primary lacks (" + extra +
                        "), never acknowledged by a replica: it must be re-cloned from the "
                        "primary");
  const std::string port = std::to_string(primary.source_port());
  const std::string heartbeat = seconds_text(heartbeat_period_);
  // Fenced first (read-only, application sessions ended): only then may its own semi-sync
  // waits be released, since no client is left to be told "committed". A replica that kept
  // semi-sync on would stall its SQL thread waiting for acknowledgements (log_slave_updates).
  fence(c);
  if (mysql8()) {
    run(c, "SET GLOBAL rpl_semi_sync_source_enabled = OFF");
    run(c, "STOP REPLICA");
    run(c,
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST = ?, SOURCE_PORT = " + port +
            ", SOURCE_USER = ?, SOURCE_PASSWORD = ?, SOURCE_AUTO_POSITION = 1, "
            "SOURCE_CONNECT_RETRY = 1, SOURCE_HEARTBEAT_PERIOD = " +
            heartbeat + ", GET_SOURCE_PUBLIC_KEY = 1",
        {primary.source_host(), replication_.user, replication_.password});
    run(c, "START REPLICA");
    return;
  }
  run(c, "SET GLOBAL rpl_semi_sync_master_enabled = OFF");
  run(c, "STOP SLAVE");
  // DEMOTE folds the node's own GTIDs into its slave position, so an old primary resumes
  // from what it has instead of replaying from the start.
  run(c,
      "CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = " + port +
          ", MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos, "
          "MASTER_CONNECT_RETRY = 1, MASTER_HEARTBEAT_PERIOD = " +
          heartbeat + ", MASTER_DEMOTE_TO_SLAVE = 1",
      {primary.source_host(), replication_.user, replication_.password});
  run(c, "START SLAVE");
}

void MysqlEngine::write_probe(DbConnection& c, uint64_t epoch) {
  run(c, "CREATE DATABASE IF NOT EXISTS medgate_monitor");
  run(c,
      "CREATE TABLE IF NOT EXISTS medgate_monitor.heartbeat (id INT PRIMARY KEY, "
      "epoch BIGINT NOT NULL, written_at TIMESTAMP(6) NOT NULL)");
  run(c, "REPLACE INTO medgate_monitor.heartbeat VALUES (1, ?, NOW(6))", {std::to_string(epoch)});
}

}  // namespace medgate::dbmon
