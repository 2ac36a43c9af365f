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
    bool read_only = false;                 // the replica role starts fenced
    std::vector<std::string> extra_config;  // more [mariadbd] lines
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
  // Starts again after stop()/kill(), with the same data and configuration, and
  // `extra_args` on the command line (e.g. the replica role's crash recovery).
  void start(const std::vector<std::string>& extra_args = {});
  // The server's process id, -1 when it is not running; whether it still runs (it may have
  // been killed by someone else: then it is reaped here).
  [[nodiscard]] int pid() const { return process_ ? process_->pid() : -1; }
  [[nodiscard]] bool running() { return process_ && process_->running(); }
  void stop();
  void kill();
  // Sends `sig` to the server (SIGSTOP / SIGCONT for a hung server).
  void signal(int sig) const;

 private:
  std::string dir_;
  std::string cnf_;
  uint16_t port_;
  std::unique_ptr<ChildProcess> process_;
};

class PostgresServer {
 public:
  // `extra_config`: more postgresql.conf lines (a standby inherits its primary's).
  explicit PostgresServer(std::vector<std::string> extra_config = {});
  // A hot standby streaming from `primary` (pg_basebackup -R), started and ready;
  // `application_name` is what it reports to the primary (for synchronous_standby_names).
  [[nodiscard]] static std::unique_ptr<PostgresServer> standby_of(
      const PostgresServer& primary, const std::string& application_name = "");
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
  // Starts again through `command` (run as the postgres user, ending in an exec of
  // postgres on this data directory: a start wrapper), and waits until it answers.
  void start_through(const std::vector<std::string>& command);
  // Sends `sig` to the postmaster and all its children (a hung server: SIGSTOP / SIGCONT).
  void signal_all(int sig) const;
  [[nodiscard]] const std::string& data_dir() const { return data_dir_; }

 private:
  struct NoInit {};
  explicit PostgresServer(NoInit);
  void append_config() const;

  std::string dir_;
  std::string data_dir_;
  std::vector<std::string> extra_config_;
  uint16_t port_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace medgate::testing
