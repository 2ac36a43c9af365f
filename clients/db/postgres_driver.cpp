#include "clients/db/postgres_driver.hpp"

#include <libpq-fe.h>

#include <algorithm>

#include "clients/db/socket_wait.hpp"

namespace medgate::db {

namespace {

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, PgConnDeleter>;

std::string first_line(const char* message) {
  std::string s = message ? message : "";
  if (auto nl = s.find('\n'); nl != std::string::npos)
    s.resize(nl);
  return s;
}

using Clock = std::chrono::steady_clock;

class PostgresConnection final : public DbConnection {
 public:
  PostgresConnection(PgConn conn, DbNode node, std::chrono::milliseconds io_timeout)
      : conn_(std::move(conn)), node_(std::move(node)), io_timeout_(io_timeout) {}

  SqlResult execute(std::string_view sql, const SqlParams& params) override {
    if (broken_)
      throw DbError(DbErrorKind::unavailable,
                    "postgresql " + node_.label() + ": connection closed after a timeout");
    if (abandon_ && abandon_->fired())
      throw DbError(DbErrorKind::unavailable,
                    "postgresql " + node_.label() + ": abandoned, " + abandon_->why());
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params)
      values.push_back(p ? p->c_str() : nullptr);
    const std::string text(sql);
    if (!PQsendQueryParams(conn_.get(), text.c_str(), static_cast<int>(values.size()), nullptr,
                           values.data(), nullptr, nullptr, 0))
      throw DbError(DbErrorKind::unavailable,
                    "postgresql " + node_.label() + ": " + first_line(PQerrorMessage(conn_.get())));
    PgResult res = await_result();
    check(res.get());
    SqlResult out;
    const int cols = PQnfields(res.get());
    const int rows = PQntuples(res.get());
    out.columns.reserve(static_cast<size_t>(cols));
    for (int c = 0; c < cols; ++c)
      out.columns.emplace_back(PQfname(res.get(), c));
    out.rows.reserve(static_cast<size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      std::vector<SqlValue> row;
      row.reserve(static_cast<size_t>(cols));
      for (int c = 0; c < cols; ++c) {
        if (PQgetisnull(res.get(), r, c))
          row.emplace_back(std::nullopt);
        else
          row.emplace_back(std::string(PQgetvalue(res.get(), r, c),
                                       static_cast<size_t>(PQgetlength(res.get(), r, c))));
      }
      out.rows.push_back(std::move(row));
    }
    const char* affected = PQcmdTuples(res.get());
    if (affected && *affected)
      out.affected_rows = std::stoull(affected);
    return out;
  }

  void begin() override { (void)execute("BEGIN", {}); }
  void commit() override { (void)execute("COMMIT", {}); }
  void rollback() override { (void)execute("ROLLBACK", {}); }

  bool in_transaction() const override {
    const PGTransactionStatusType s = PQtransactionStatus(conn_.get());
    return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
  }

  bool writable() override {
    const SqlResult r = execute(
        "SELECT (NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off')"
        "::text",
        {});
    return !r.rows.empty() && r.rows[0][0] == "true";
  }

  bool ping() override {
    if (broken_ || PQstatus(conn_.get()) != CONNECTION_OK)
      return false;
    try {
      (void)execute("SELECT 1", {});
      return true;
    } catch (const DbError&) {
      return false;
    }
  }

  const DbNode& node() const override { return node_; }

  void set_deadline(std::optional<Clock::time_point> deadline) override { deadline_ = deadline; }
  void set_abandon(std::shared_ptr<const AbandonSignal> signal) override {
    abandon_ = std::move(signal);
  }

 private:
  // Sends what is queued and collects the statement's results within io_timeout; returns the
  // last result (the first error wins).
  PgResult await_result() {
    auto deadline = io_timeout_.count() > 0 ? Clock::now() + io_timeout_ : Clock::time_point::max();
    if (deadline_)
      deadline = std::min(deadline, *deadline_);
    PGconn* c = conn_.get();
    const int fd = PQsocket(c);
    const auto wait = [&](short events) {
      switch (wait_socket(fd, events, deadline, abandon_.get())) {
        case SocketWait::ready:
          return;
        case SocketWait::timed_out:
          timed_out();
        case SocketWait::abandoned:
          broken_ = true;
          throw DbError(DbErrorKind::unavailable, "postgresql " + node_.label() + ": abandoned, " +
                                                      abandon_->why() + " (outcome unknown)");
      }
    };
    for (;;) {
      const int f = PQflush(c);
      if (f == 0)
        break;
      if (f < 0)
        return nullptr;
      wait(POLLIN | POLLOUT);
      if (!PQconsumeInput(c))
        return nullptr;
    }
    PgResult last;
    for (;;) {
      while (PQisBusy(c)) {
        wait(POLLIN);
        // The connection broke before the server said it is ready again. With the extended
        // protocol the statement's CommandComplete comes before the commit (at Sync), and a
        // synchronous commit waits for a standby there: a result already read proves
        // nothing, so the outcome is unknown, never a success.
        if (!PQconsumeInput(c))
          return nullptr;
      }
      PgResult r(PQgetResult(c));
      if (!r)
        return last;
      if (!last || PQresultStatus(last.get()) != PGRES_FATAL_ERROR)
        last = std::move(r);
    }
  }

  [[noreturn]] void timed_out() {
    broken_ = true;
    throw DbError(DbErrorKind::unavailable, "postgresql " + node_.label() + ": no answer within " +
                                                std::to_string(io_timeout_.count()) +
                                                " ms or the caller's deadline (outcome unknown)");
  }

  void check(PGresult* res) {
    const ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY)
      return;
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    DbErrorKind kind = state ? classify_sqlstate(state) : DbErrorKind::unavailable;
    if (PQstatus(conn_.get()) != CONNECTION_OK)
      kind = DbErrorKind::unavailable;
    throw DbError(kind,
                  "postgresql " + node_.label() + ": " +
                      first_line(res ? PQresultErrorMessage(res) : PQerrorMessage(conn_.get())),
                  state ? state : "");
  }

  PgConn conn_;
  DbNode node_;
  std::chrono::milliseconds io_timeout_;
  std::optional<Clock::time_point> deadline_;
  std::shared_ptr<const AbandonSignal> abandon_;
  bool broken_ = false;
};

}  // namespace

std::string conninfo_value(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\')
      out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

DbErrorKind classify_sqlstate(std::string_view s) {
  if (s == "25006")  // read_only_sql_transaction: a standby, or default_transaction_read_only
    return DbErrorKind::read_only;
  if (s == "23505")  // unique_violation
    return DbErrorKind::conflict;
  if (s == "40001" || s == "40P01")  // serialization_failure, deadlock_detected
    return DbErrorKind::aborted;
  if (s == "57014" || s == "55P03")  // query_canceled (statement_timeout), lock_not_available
    return DbErrorKind::busy;
  // Class 08 connection exceptions, 57P01-03 shutdown / cannot connect now, 53 resources.
  if (s.starts_with("08") || s.starts_with("57P") || s.starts_with("53"))
    return DbErrorKind::unavailable;
  return DbErrorKind::invalid;
}

namespace {

// Keepalives and TCP_USER_TIMEOUT let the kernel give up on a peer that stopped answering;
// lock_timeout ends row-lock waits. No statement_timeout: a cancel during COMMIT's wait for
// the synchronous standby makes PostgreSQL report success for a commit that is only local,
// and an acknowledged write must survive a failover.
std::string session_bounds(std::chrono::milliseconds io_timeout) {
  if (io_timeout.count() <= 0)
    return {};
  const auto ms = std::to_string(io_timeout.count());
  return " keepalives=1 keepalives_idle=5 keepalives_interval=1 keepalives_count=3"
         " tcp_user_timeout=" +
         ms + " options=" + conninfo_value("-c lock_timeout=" + ms);
}

}  // namespace

std::unique_ptr<DbConnection> PostgresDriver::connect(const DbNode& node,
                                                      std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  // libpq's own connect_timeout counts whole seconds and is only a backstop here: the poll
  // loop below keeps the caller's deadline to the millisecond.
  const auto secs =
      std::max<int64_t>(2, std::chrono::ceil<std::chrono::seconds>(timeout).count() + 1);
  const std::string conninfo =
      "host=" + conninfo_value(node.host) + " port=" + std::to_string(node.port) +
      " user=" + conninfo_value(node.user) + " password=" + conninfo_value(node.password) +
      " dbname=" + conninfo_value(node.database) + " connect_timeout=" + std::to_string(secs) +
      " application_name=medgate" + session_bounds(io_timeout_);
  PgConn conn(PQconnectStart(conninfo.c_str()));
  auto fail = [&](const std::string& why) -> DbError {
    return DbError(DbErrorKind::unavailable, "postgresql " + node.label() + ": " + why);
  };
  if (!conn)
    throw fail("out of memory");
  if (PQstatus(conn.get()) == CONNECTION_BAD)
    throw fail(first_line(PQerrorMessage(conn.get())));
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK) {
    if (st == PGRES_POLLING_FAILED)
      throw fail(first_line(PQerrorMessage(conn.get())));
    // The socket may change between attempts (several addresses, SSL then plain).
    if (wait_socket(PQsocket(conn.get()), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline,
                    nullptr) != SocketWait::ready)
      throw fail("no answer within " + std::to_string(timeout.count()) + " ms");
    st = PQconnectPoll(conn.get());
  }
  if (PQsetnonblocking(conn.get(), 1) != 0)
    throw fail(first_line(PQerrorMessage(conn.get())));
  return std::make_unique<PostgresConnection>(std::move(conn), node, io_timeout_);
}

}  // namespace medgate::db
