#include "clients/db/mariadb_driver.hpp"

#include <mysql.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>

#include <errmsg.h>

#include "clients/db/socket_wait.hpp"

namespace medgate::db {

namespace {

struct MysqlDeleter {
  void operator()(MYSQL* m) const { mysql_close(m); }
};
using Mysql = std::unique_ptr<MYSQL, MysqlDeleter>;

struct MysqlResultDeleter {
  void operator()(MYSQL_RES* r) const { mysql_free_result(r); }
};
using MysqlResult = std::unique_ptr<MYSQL_RES, MysqlResultDeleter>;

using Clock = std::chrono::steady_clock;

class MariadbConnection final : public DbConnection {
 public:
  MariadbConnection(Mysql conn, DbNode node, MysqlDialect dialect,
                    std::chrono::milliseconds io_timeout)
      : conn_(std::move(conn)),
        node_(std::move(node)),
        dialect_(dialect),
        io_timeout_(io_timeout) {}
  ~MariadbConnection() override {
    // Cut off mid-statement: the protocol is out of step, and closing would try to talk to
    // a server that may be hung. Shut the socket first so every call fails at once.
    if (broken_ && conn_)
      ::shutdown(mysql_get_socket(conn_.get()), SHUT_RDWR);
  }
  MariadbConnection(const MariadbConnection&) = delete;
  MariadbConnection& operator=(const MariadbConnection&) = delete;

  SqlResult execute(std::string_view sql, const SqlParams& params) override {
    if (broken_)
      throw DbError(DbErrorKind::unavailable,
                    "mariadb " + node_.label() + ": the connection was cut off earlier");
    const std::string text =
        params.empty()
            ? std::string(sql)
            : bind_placeholders(sql, params, [this](const std::string& v) { return quote(v); });
    int query_rc = 0;
    drive([&] { return mysql_real_query_start(&query_rc, conn_.get(), text.data(), text.size()); },
          [&](int ready) { return mysql_real_query_cont(&query_rc, conn_.get(), ready); });
    if (query_rc != 0)
      fail();
    SqlResult out;
    MYSQL_RES* stored = nullptr;
    drive([&] { return mysql_store_result_start(&stored, conn_.get()); },
          [&](int ready) { return mysql_store_result_cont(&stored, conn_.get(), ready); });
    MysqlResult res(stored);
    if (!res) {
      if (mysql_field_count(conn_.get()) != 0)
        fail();  // a result was expected but could not be read
      out.affected_rows = mysql_affected_rows(conn_.get());
      out.insert_id = mysql_insert_id(conn_.get());
      return out;
    }
    const unsigned cols = mysql_num_fields(res.get());
    const MYSQL_FIELD* fields = mysql_fetch_fields(res.get());
    for (unsigned c = 0; c < cols; ++c)
      out.columns.emplace_back(fields[c].name, fields[c].name_length);
    while (MYSQL_ROW row = mysql_fetch_row(res.get())) {
      const unsigned long* lengths = mysql_fetch_lengths(res.get());
      std::vector<SqlValue> values;
      values.reserve(cols);
      for (unsigned c = 0; c < cols; ++c) {
        if (row[c] == nullptr)
          values.emplace_back(std::nullopt);
        else
          values.emplace_back(std::string(row[c], lengths[c]));
      }
      out.rows.push_back(std::move(values));
    }
    out.affected_rows = out.rows.size();
    return out;
  }

  void begin() override { (void)execute("START TRANSACTION", {}); }
  void commit() override { (void)execute("COMMIT", {}); }
  void rollback() override { (void)execute("ROLLBACK", {}); }

  bool in_transaction() const override {
    unsigned int status = 0;
    if (mariadb_get_infov(conn_.get(), MARIADB_CONNECTION_SERVER_STATUS, &status) != 0)
      return true;  // unknown: assume the worst, the pool will roll back or discard
    return (status & SERVER_STATUS_IN_TRANS) != 0;
  }

  bool writable() override {
    const SqlResult r = execute(writable_query(dialect_), {});
    return !r.rows.empty() && r.rows[0][0] == "1";
  }

  bool ping() override {
    if (broken_)
      return false;
    int rc = 0;
    try {
      drive([&] { return mysql_ping_start(&rc, conn_.get()); },
            [&](int ready) { return mysql_ping_cont(&rc, conn_.get(), ready); });
    } catch (const DbError&) {
      return false;
    }
    return rc == 0;
  }

  const DbNode& node() const override { return node_; }

  void set_deadline(std::optional<Clock::time_point> deadline) override { deadline_ = deadline; }
  void set_abandon(std::shared_ptr<const AbandonSignal> signal) override {
    abandon_ = std::move(signal);
  }

 private:
  // Runs one of Connector/C's non-blocking calls to the end, waiting on the connection's
  // socket no later than the statement's deadline: io_timeout from now, or the caller's
  // deadline when sooner (Connector/C's own timeouts count whole seconds). A statement cut
  // off leaves the connection unusable and its outcome unknown.
  template <typename Start, typename Cont>
  void drive(Start start, Cont cont) {
    auto until = Clock::now() + io_timeout_;
    if (deadline_)
      until = std::min(until, *deadline_);
    if (abandon_ && abandon_->fired())
      abandoned(false);
    int status = start();
    while (status != 0) {
      short events = 0;
      if (status & MYSQL_WAIT_READ)
        events |= POLLIN;
      if (status & MYSQL_WAIT_WRITE)
        events |= POLLOUT;
      if (status & MYSQL_WAIT_EXCEPT)
        events |= POLLPRI;
      short revents = 0;
      switch (wait_socket(mysql_get_socket(conn_.get()), events, until, abandon_.get(), &revents)) {
        case SocketWait::timed_out:
          timed_out();
        case SocketWait::abandoned:
          abandoned(true);
        case SocketWait::ready:
          break;
      }
      int ready = 0;
      if (revents & (POLLIN | POLLHUP | POLLERR))
        ready |= MYSQL_WAIT_READ;  // an error: let the library read it and say so
      if (revents & POLLOUT)
        ready |= MYSQL_WAIT_WRITE;
      if (revents & POLLPRI)
        ready |= MYSQL_WAIT_EXCEPT;
      status = cont(ready);
    }
  }

  [[noreturn]] void abandoned(bool sent) {
    broken_ = true;
    throw DbError(DbErrorKind::unavailable, "mariadb " + node_.label() + ": abandoned, " +
                                                abandon_->why() +
                                                (sent ? "; a write's outcome is unknown" : ""));
  }

  [[noreturn]] void timed_out() {
    broken_ = true;
    const auto budget = deadline_ ? " (the caller's deadline)" : "";
    throw DbError(DbErrorKind::unavailable, "mariadb " + node_.label() + ": no answer in time" +
                                                budget + "; a write's outcome is unknown");
  }

  std::string quote(const std::string& v) {
    std::string out(v.size() * 2 + 3, '\0');
    out[0] = '\'';
    const unsigned long n =
        mysql_real_escape_string(conn_.get(), out.data() + 1, v.data(), v.size());
    out.resize(n + 1);
    out += '\'';
    return out;
  }

  [[noreturn]] void fail() {
    const unsigned err = mysql_errno(conn_.get());
    throw DbError(
        classify_mysql_errno(err),
        "mariadb " + node_.label() + ": " + std::to_string(err) + " " + mysql_error(conn_.get()),
        std::to_string(err));
  }

  Mysql conn_;
  DbNode node_;
  MysqlDialect dialect_;
  std::chrono::milliseconds io_timeout_;
  std::optional<Clock::time_point> deadline_;
  std::shared_ptr<const AbandonSignal> abandon_;
  bool broken_ = false;
};

}  // namespace

DbErrorKind classify_mysql_errno(unsigned err) {
  switch (err) {
    case 1290:  // ER_OPTION_PREVENTS_STATEMENT: --read-only / super_read_only
    case 1836:  // ER_READ_ONLY_MODE
    case 1792:  // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
      return DbErrorKind::read_only;
    case 1213:  // ER_LOCK_DEADLOCK: InnoDB rolled the transaction back
      return DbErrorKind::aborted;
    case 1205:  // ER_LOCK_WAIT_TIMEOUT
    case 1969:  // ER_STATEMENT_TIMEOUT (max_statement_time)
    case 3024:  // ER_QUERY_TIMEOUT (MySQL 8 max_execution_time)
      return DbErrorKind::busy;
    case 1062:  // ER_DUP_ENTRY
    case 1586:  // ER_DUP_ENTRY_WITH_KEY_NAME
      return DbErrorKind::conflict;
    case 1040:  // ER_CON_COUNT_ERROR
    case 1053:  // ER_SERVER_SHUTDOWN
    case 1927:  // ER_CONNECTION_KILLED
    case 2002:  // CR_CONNECTION_ERROR
    case 2003:  // CR_CONN_HOST_ERROR
    case 2006:  // CR_SERVER_GONE_ERROR
    case 2013:  // CR_SERVER_LOST
    case 2055:  // CR_SERVER_LOST_EXTENDED
    case 4031:  // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
      return DbErrorKind::unavailable;
    default:
      return DbErrorKind::invalid;
  }
}

std::string_view writable_query(MysqlDialect dialect) {
  return dialect == MysqlDialect::mysql8
             ? "SELECT IF(@@global.read_only = 0 AND @@global.super_read_only = 0, 1, 0)"
             : "SELECT IF(@@global.read_only = 0, 1, 0)";
}

std::unique_ptr<DbConnection> MariadbDriver::connect(const DbNode& node,
                                                     std::chrono::milliseconds timeout) {
  Mysql conn(mysql_init(nullptr));
  if (!conn)
    throw DbError(DbErrorKind::unavailable, "mariadb: out of memory");
  const unsigned secs = static_cast<unsigned>(
      std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(timeout).count()));
  // Reads and writes are bounded too, so a hung server cannot hold a worker thread forever.
  const unsigned io_secs = static_cast<unsigned>(
      std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(io_timeout_).count()));
  mysql_optionsv(conn.get(), MYSQL_OPT_CONNECT_TIMEOUT, &secs);
  mysql_optionsv(conn.get(), MYSQL_OPT_READ_TIMEOUT, &io_secs);
  mysql_optionsv(conn.get(), MYSQL_OPT_WRITE_TIMEOUT, &io_secs);
  mysql_optionsv(conn.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
  // Statements run through the non-blocking API, so they end by the caller's deadline, not
  // only by the whole-second I/O timeouts above (which still bound connecting).
  mysql_optionsv(conn.get(), MYSQL_OPT_NONBLOCK, 0);
  // Row-lock waits end within the same bound and roll back only the statement. No
  // max_statement_time: it could end a COMMIT waiting for the semi-sync ACK with an error
  // although the transaction commits, and a write reported failed must not have happened.
  const std::string init = "SET SESSION innodb_lock_wait_timeout = " + std::to_string(io_secs);
  mysql_optionsv(conn.get(), MYSQL_INIT_COMMAND, init.c_str());
  if (!mysql_real_connect(conn.get(), node.host.c_str(), node.user.c_str(), node.password.c_str(),
                          node.database.empty() ? nullptr : node.database.c_str(), node.port,
                          nullptr, 0)) {
    const unsigned err = mysql_errno(conn.get());
    // Client-side errors (>= 2000) mean unreachable; a server that answers "access denied"
    // or fails the TLS/auth exchange is alive and misconfigured, which retrying won't fix.
    const DbErrorKind kind = err >= 2000 || classify_mysql_errno(err) == DbErrorKind::unavailable
                                 ? DbErrorKind::unavailable
                                 : DbErrorKind::invalid;
    throw DbError(
        kind,
        "mariadb " + node.label() + ": " + std::to_string(err) + " " + mysql_error(conn.get()),
        std::to_string(err));
  }
  // Autocommit on: statements outside begin()/commit() stand alone.
  mysql_autocommit(conn.get(), 1);
  return std::make_unique<MariadbConnection>(std::move(conn), node, dialect_, io_timeout_);
}

}  // namespace medgate::db
