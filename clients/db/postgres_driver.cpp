#include "clients/db/postgres_driver.hpp"

#include <libpq-fe.h>

#include <algorithm>

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

// libpq connection strings quote values with single quotes and backslash escapes.
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

std::string first_line(const char* message) {
  std::string s = message ? message : "";
  if (auto nl = s.find('\n'); nl != std::string::npos)
    s.resize(nl);
  return s;
}

class PostgresConnection final : public DbConnection {
 public:
  PostgresConnection(PgConn conn, DbNode node) : conn_(std::move(conn)), node_(std::move(node)) {}

  SqlResult execute(std::string_view sql, const SqlParams& params) override {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params)
      values.push_back(p ? p->c_str() : nullptr);
    const std::string text(sql);
    PgResult res(PQexecParams(conn_.get(), text.c_str(), static_cast<int>(values.size()), nullptr,
                              values.data(), nullptr, nullptr, 0));
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
    if (PQstatus(conn_.get()) != CONNECTION_OK)
      return false;
    try {
      (void)execute("SELECT 1", {});
      return true;
    } catch (const DbError&) {
      return false;
    }
  }

  const DbNode& node() const override { return node_; }

 private:
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
                      first_line(res ? PQresultErrorMessage(res) : PQerrorMessage(conn_.get())));
  }

  PgConn conn_;
  DbNode node_;
};

}  // namespace

DbErrorKind classify_sqlstate(std::string_view s) {
  if (s == "25006")  // read_only_sql_transaction: a standby, or default_transaction_read_only
    return DbErrorKind::read_only;
  if (s == "23505")  // unique_violation
    return DbErrorKind::conflict;
  // Class 08 connection exceptions, 57P01-03 shutdown / cannot connect now, 53 resources.
  if (s.starts_with("08") || s.starts_with("57P") || s.starts_with("53"))
    return DbErrorKind::unavailable;
  return DbErrorKind::invalid;
}

std::unique_ptr<DbConnection> PostgresDriver::connect(const DbNode& node,
                                                      std::chrono::milliseconds timeout) {
  const auto secs = std::max<int64_t>(
      1, std::chrono::ceil<std::chrono::seconds>(timeout).count());  // libpq counts seconds
  const std::string conninfo =
      "host=" + conninfo_value(node.host) + " port=" + std::to_string(node.port) +
      " user=" + conninfo_value(node.user) + " password=" + conninfo_value(node.password) +
      " dbname=" + conninfo_value(node.database) + " connect_timeout=" + std::to_string(secs) +
      " application_name=medgate";
  PgConn conn(PQconnectdb(conninfo.c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK)
    throw DbError(DbErrorKind::unavailable,
                  "postgresql " + node.label() + ": " +
                      first_line(conn ? PQerrorMessage(conn.get()) : "out of memory"));
  return std::make_unique<PostgresConnection>(std::move(conn), node);
}

}  // namespace medgate::db
