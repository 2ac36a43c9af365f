// DbDriver over MariaDB Connector/C, for MariaDB 10.11 and MySQL 8 servers. Placeholders are
// `?`; values are escaped by the connection (charset-aware) and quoted, outside of any
// string literal or comment in the statement.
#pragma once

#include "clients/db/db.hpp"

namespace medgate::db {

enum class MysqlDialect : uint8_t {
  mariadb,  // read_only (bypassed by READ ONLY ADMIN)
  mysql8,   // read_only and super_read_only (bypassed by SUPER / CONNECTION_ADMIN)
};

class MariadbDriver final : public DbDriver {
 public:
  // `io_timeout` bounds every statement on a connection (to the millisecond: statements run
  // through Connector/C's non-blocking API and wait on the socket themselves), and
  // DbConnection::set_deadline bounds them by the caller's deadline when sooner, so a hung
  // server cannot hold a caller's thread for longer. Connecting is bounded by the connect
  // timeout, which Connector/C counts in whole seconds (rounded up).
  explicit MariadbDriver(MysqlDialect dialect = MysqlDialect::mariadb,
                         std::chrono::milliseconds io_timeout = std::chrono::seconds(10))
      : dialect_(dialect), io_timeout_(io_timeout) {}
  std::unique_ptr<DbConnection> connect(const DbNode& node,
                                        std::chrono::milliseconds timeout) override;

 private:
  MysqlDialect dialect_;
  std::chrono::milliseconds io_timeout_;
};

// Replaces each `?` outside quotes and comments with `quote(param)`. Throws DbError(invalid)
// when the counts differ. Exposed for tests.
template <typename Quote>
std::string bind_placeholders(std::string_view sql, const SqlParams& params, Quote&& quote);

// Maps a MariaDB/MySQL error number to our error kinds (exposed for tests).
[[nodiscard]] DbErrorKind classify_mysql_errno(unsigned err);

// The statement that tells whether a node takes writes, per dialect.
[[nodiscard]] std::string_view writable_query(MysqlDialect dialect);

template <typename Quote>
std::string bind_placeholders(std::string_view sql, const SqlParams& params, Quote&& quote) {
  std::string out;
  out.reserve(sql.size() + 16 * params.size());
  size_t next = 0;
  char in_quote = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (in_quote) {
      out += c;
      if (c == '\\' && in_quote != '`' && i + 1 < sql.size()) {
        out += sql[++i];
      } else if (c == in_quote) {
        in_quote = 0;
      }
      continue;
    }
    if (c == '\'' || c == '"' || c == '`') {
      in_quote = c;
      out += c;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const size_t end = sql.find('\n', i);
      const size_t stop = end == std::string_view::npos ? sql.size() : end;
      out.append(sql.substr(i, stop - i));
      i = stop - 1;
    } else if (c == '?') {
      if (next >= params.size())
        throw DbError(DbErrorKind::invalid, "more placeholders than parameters");
      out += params[next] ? quote(*params[next]) : std::string("NULL");
      ++next;
    } else {
      out += c;
    }
  }
  if (next != params.size())
    throw DbError(DbErrorKind::invalid, "more parameters than placeholders");
  return out;
}

}  // namespace medgate::db
