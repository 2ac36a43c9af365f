#include "apps/service-kit/migrations.hpp"

#include <set>

namespace medgate::service {

std::vector<std::string> split_statements(std::string_view sql) {
  std::vector<std::string> out;
  std::string current;
  char quote = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote) {
      current += c;
      if (c == quote)
        quote = 0;
      continue;
    }
    if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const size_t end = sql.find('\n', i);
      i = end == std::string_view::npos ? sql.size() : end;
      current += '\n';
      continue;
    }
    if (c == '\'' || c == '"' || c == '`')
      quote = c;
    if (c == ';') {
      size_t j = i + 1;
      while (j < sql.size() && (sql[j] == ' ' || sql[j] == '\t' || sql[j] == '\r'))
        ++j;
      if (j == sql.size() || sql[j] == '\n') {
        const auto first = current.find_first_not_of(" \t\r\n");
        if (first != std::string::npos)
          out.push_back(current.substr(first));
        current.clear();
        continue;
      }
    }
    current += c;
  }
  if (current.find_first_not_of(" \t\r\n") != std::string::npos)
    out.push_back(current.substr(current.find_first_not_of(" \t\r\n")));
  return out;
}

std::vector<int> apply_migrations(db::DbPool& pool, SqlDialect dialect,
                                  std::span<const Migration> migrations) {
  return pool.with_connection(db::Access::write, [&](db::DbConnection& c) {
    const bool pg = dialect == SqlDialect::postgres;
    (void)c.execute(
        pg ? "SELECT pg_advisory_lock(727274)" : "SELECT GET_LOCK('medgate_schema_migrations', 60)",
        {});
    struct Unlock {
      db::DbConnection& c;
      bool pg;
      ~Unlock() {
        try {
          (void)c.execute(pg ? "SELECT pg_advisory_unlock(727274)"
                             : "SELECT RELEASE_LOCK('medgate_schema_migrations')",
                          {});
        } catch (const db::DbError&) {
          // The lock goes with the session if the connection is gone.
        }
      }
    } unlock{c, pg};
    (void)c.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY, "
        "name VARCHAR(200) NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT "
        "CURRENT_TIMESTAMP)",
        {});
    std::set<int> done;
    for (const auto& row : c.execute("SELECT version FROM schema_migrations", {}).rows)
      done.insert(std::stoi(*row[0]));
    std::vector<int> applied;
    for (const Migration& m : migrations) {
      if (done.contains(m.version))
        continue;
      // PostgreSQL runs DDL transactionally; MariaDB/MySQL commit DDL implicitly, so their
      // migrations are written to be re-runnable (IF NOT EXISTS, INSERT IGNORE).
      if (pg)
        c.begin();
      for (const std::string& stmt : split_statements(m.sql))
        (void)c.execute(stmt, {});
      (void)c.execute(pg ? "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)"
                         : "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                      {std::to_string(m.version), std::string(m.name)});
      if (pg)
        c.commit();
      applied.push_back(m.version);
    }
    return applied;
  });
}

}  // namespace medgate::service
