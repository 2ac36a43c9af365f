// Real MariaDB and PostgreSQL servers for integration tests: own temporary directory,
// free loopback port, started as the unprivileged mysql/postgres user when the tests run as
// root, ready when this returns, stopped by PID and removed when the handle goes away.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "clients/db/db.hpp"
#include "tests/support/process.hpp"

namespace medgate::testing {

class MariadbServer {
 public:
  struct Options {
    uint32_t server_id = 1;
    bool read_only = false;  // the replica role starts fenced
  };
  // Initializes and starts a server in a fresh temporary directory (removed at the end).
  explicit MariadbServer(Options options);
  ~MariadbServer();

  [[nodiscard]] uint16_t port() const { return port_; }
  // Runs SQL as root through the server's socket; throws with the client's output on error.
  void sql(const std::string& statements) const;
  // The client command line that runs `statements` (to start it in the background).
  [[nodiscard]] std::vector<std::string> sql_command(const std::string& statements) const;
  // The same, returning the client's tab-separated output (no column names).
  [[nodiscard]] std::string query(const std::string& statement) const;
  [[nodiscard]] db::DbNode node(const std::string& user, const std::string& password,
                                const std::string& database) const;
  // Starts again after stop()/kill(), with the same data and configuration.
  void start();
  void stop();
  void kill();

 private:
  std::string dir_;
  std::string cnf_;
  uint16_t port_;
  std::unique_ptr<ChildProcess> process_;
};

class PostgresServer {
 public:
  PostgresServer();
  // A hot standby streaming from `primary` (pg_basebackup -R), started and ready.
  [[nodiscard]] static std::unique_ptr<PostgresServer> standby_of(const PostgresServer& primary);
  ~PostgresServer();

  [[nodiscard]] uint16_t port() const { return port_; }
  // Runs SQL as the postgres superuser; throws on error.
  void sql(const std::string& statements, const std::string& database = "postgres") const;
  [[nodiscard]] db::DbNode node(const std::string& user, const std::string& password,
                                const std::string& database) const;
  void start();
  void stop();
  void kill();
  // pg_promote(): a standby becomes a writable primary.
  void promote() const;

 private:
  struct NoInit {};
  explicit PostgresServer(NoInit);
  void append_config() const;

  std::string dir_;
  uint16_t port_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace medgate::testing
