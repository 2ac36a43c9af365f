#include "tests/support/db_servers.hpp"

#include <unistd.h>

#include <csignal>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "clients/db/mariadb_driver.hpp"
#include "clients/db/postgres_driver.hpp"

namespace medgate::testing {

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

bool running_as_root() {
  return ::geteuid() == 0;
}

// Prefixes argv so it runs as `user` when we are root (the servers refuse or should not run
// as root); setpriv execs in place, so the PID we hold is the server's.
std::vector<std::string> as_user(const std::string& user, std::vector<std::string> argv) {
  if (!running_as_root())
    return argv;
  std::vector<std::string> out = {"/usr/bin/setpriv", "--reuid=" + user, "--regid=" + user,
                                  "--init-groups", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

void chown_tree(const std::string& dir, const std::string& user) {
  if (!running_as_root())
    return;
  if (run_command({"/bin/chown", "-R", user + ":" + user, dir}, "/dev/null", 10s) != 0)
    throw std::runtime_error("chown " + dir + " failed");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

template <typename Connect>
void wait_until_connectable(Connect connect, ChildProcess& process, const std::string& what) {
  const auto until = std::chrono::steady_clock::now() + 30s;
  std::string last;
  while (std::chrono::steady_clock::now() < until) {
    if (!process.running())
      throw std::runtime_error(what + " exited during start-up:\n" + process.log());
    try {
      connect();
      return;
    } catch (const db::DbError& e) {
      last = e.what();
    }
    std::this_thread::sleep_for(50ms);
  }
  throw std::runtime_error(what + " not ready within 30 s: " + last);
}

}  // namespace

MariadbServer::MariadbServer(Options options)
    : dir_(make_temp_dir("medgate-mariadb-")), cnf_(dir_ + "/my.cnf"), port_(free_port()) {
  fs::create_directories(dir_ + "/data");
  fs::create_directories(dir_ + "/run");
  fs::create_directories(dir_ + "/tmp");
  std::ofstream cnf(cnf_);
  cnf << "[mariadbd]\n"
      << "datadir=" << dir_ << "/data\n"
      << "port=" << port_ << "\n"
      << "bind-address=127.0.0.1\n"
      << "socket=" << dir_ << "/run/mysqld.sock\n"
      << "pid-file=" << dir_ << "/run/mysqld.pid\n"
      << "log-error=" << dir_
      << "/run/error.log\n"
      // Its own temporary directory: servers bootstrapping side by side in /tmp were seen
      // losing each other's temporary tables.
      << "tmpdir=" << dir_ << "/tmp\n"
      << (running_as_root() ? "user=mysql\n" : "") << "server_id=" << options.server_id << "\n"
      << "log_bin=" << dir_ << "/data/binlog\n"
      << "binlog_format=ROW\n"
      << "gtid_strict_mode=ON\n"
      << "log_slave_updates=ON\n"
      << "relay_log=relay-bin\n"
      << "skip-name-resolve\n"
      << "skip_slave_start=ON\n"
      << "read_only=" << (options.read_only ? "ON" : "OFF") << "\n"
      << "innodb_buffer_pool_size=32M\n"
      << "innodb_log_file_size=16M\n";
  for (const auto& line : options.extra_config)
    cnf << line << "\n";
  cnf << "[client]\n"
      << "socket=" << dir_ << "/run/mysqld.sock\n"
      << "user=root\n";
  cnf.close();
  chown_tree(dir_, "mysql");
  const int rc = run_command({"/usr/bin/mariadb-install-db", "--defaults-file=" + cnf_,
                              "--auth-root-authentication-method=normal", "--skip-test-db"},
                             dir_ + "/install.log", 60s);
  if (rc != 0)
    throw std::runtime_error("mariadb-install-db failed:\n" + read_file(dir_ + "/install.log") +
                             "\nerror.log:\n" + read_file(dir_ + "/run/error.log"));
  start();
  // install-db leaves anonymous users behind; they would match before real ones.
  // Not binlogged, and the binlog reset: a fresh server has no GTIDs of its own, so it can
  // become a replica of another without conflicting sequence numbers.
  sql("SET SESSION sql_log_bin = 0; DELETE FROM mysql.global_priv WHERE User = '';"
      "FLUSH PRIVILEGES; RESET MASTER;");
}

MariadbServer::~MariadbServer() {
  if (process_)
    process_->stop(SIGTERM, 20s);
  process_.reset();
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

void MariadbServer::start(const std::vector<std::string>& extra_args) {
  std::vector<std::string> argv{"/usr/sbin/mariadbd", "--defaults-file=" + cnf_};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<ChildProcess>(argv, dir_ + "/mariadbd.out");
  // Ready when the socket answers a query.
  const auto until = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    if (!process_->running())
      throw std::runtime_error("mariadbd exited:\n" + read_file(dir_ + "/run/error.log"));
    if (run_command({"/usr/bin/mariadb-admin", "--defaults-file=" + cnf_, "ping"},
                    dir_ + "/ping.log", 5s) == 0)
      return;
    if (std::chrono::steady_clock::now() > until)
      throw std::runtime_error("mariadbd not ready:\n" + read_file(dir_ + "/run/error.log"));
    std::this_thread::sleep_for(50ms);
  }
}

void MariadbServer::stop() {
  if (process_)
    process_->stop(SIGTERM, 30s);
  process_.reset();
}

void MariadbServer::kill() {
  if (process_)
    process_->kill();
  process_.reset();
}

void MariadbServer::signal(int sig) const {
  if (process_)
    process_->signal(sig);
}

void MariadbServer::sql(const std::string& statements) const {
  const std::string log = dir_ + "/sql.log";
  if (run_command({"/usr/bin/mariadb", "--defaults-file=" + cnf_, "-e", statements}, log, 30s) != 0)
    throw std::runtime_error("SQL failed: " + statements + "\n" + read_file(log));
}

std::vector<std::string> MariadbServer::sql_command(const std::string& statements) const {
  return {"/usr/bin/mariadb", "--defaults-file=" + cnf_, "-e", statements};
}

std::string MariadbServer::query(const std::string& statement) const {
  const std::string log = dir_ + "/query.log";
  if (run_command({"/usr/bin/mariadb", "--defaults-file=" + cnf_, "-N", "-B", "-e", statement}, log,
                  30s) != 0)
    throw std::runtime_error("SQL failed: " + statement + "\n" + read_file(log));
  return read_file(log);
}

db::DbNode MariadbServer::node(const std::string& user, const std::string& password,
                               const std::string& database) const {
  return db::DbNode{
      .host = "127.0.0.1", .port = port_, .user = user, .password = password, .database = database};
}

PostgresServer::PostgresServer(std::vector<std::string> extra_config)
    : dir_(make_temp_dir("medgate-postgres-")),
      data_dir_(dir_ + "/data"),
      extra_config_(std::move(extra_config)),
      port_(free_port()) {
  fs::create_directories(dir_ + "/run");
  chown_tree(dir_, "postgres");
  const int rc = run_command(
      as_user("postgres", {"/usr/lib/postgresql/15/bin/initdb", "-D", dir_ + "/data", "-U",
                           "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"}),
      dir_ + "/initdb.log", 60s);
  if (rc != 0)
    throw std::runtime_error("initdb failed:\n" + read_file(dir_ + "/initdb.log"));
  append_config();
  start();
}

PostgresServer::PostgresServer(NoInit)
    : dir_(make_temp_dir("medgate-postgres-")), data_dir_(dir_ + "/data"), port_(free_port()) {}

void PostgresServer::append_config() const {
  std::ofstream conf(dir_ + "/data/postgresql.conf", std::ios::app);
  conf << "listen_addresses = '127.0.0.1'\n"
       << "port = " << port_ << "\n"
       << "unix_socket_directories = '" << dir_ << "/run'\n"
       << "fsync = off\n"  // test data only: start-up and commits stay fast
       << "shared_buffers = 16MB\n";
  for (const auto& line : extra_config_)
    conf << line << "\n";
}

std::unique_ptr<PostgresServer> PostgresServer::standby_of(const PostgresServer& primary,
                                                           const std::string& application_name) {
  std::unique_ptr<PostgresServer> s(new PostgresServer(NoInit{}));
  fs::create_directories(s->dir_ + "/run");
  chown_tree(s->dir_, "postgres");
  std::vector<std::string> argv = {"/usr/lib/postgresql/15/bin/pg_basebackup",
                                   "-h",
                                   "127.0.0.1",
                                   "-p",
                                   std::to_string(primary.port()),
                                   "-U",
                                   "postgres",
                                   "-D",
                                   s->dir_ + "/data",
                                   "-R",
                                   "-X",
                                   "stream",
                                   "-c",
                                   "fast"};
  if (!application_name.empty()) {
    argv.push_back("-d");
    argv.push_back("application_name=" + application_name);
  }
  const int rc = run_command(as_user("postgres", argv), s->dir_ + "/basebackup.log", 60s);
  if (rc != 0)
    throw std::runtime_error("pg_basebackup failed:\n" + read_file(s->dir_ + "/basebackup.log"));
  s->append_config();  // later lines win: its own port and socket directory
  s->start();
  return s;
}

void PostgresServer::kill() {
  if (process_)
    process_->kill();
  process_.reset();
}

void PostgresServer::signal_all(int sig) const {
  if (!process_)
    return;
  // The postmaster's children hold the client connections: a hung server is all of them.
  std::string signal_arg = std::to_string(sig);
  signal_arg.insert(signal_arg.begin(), '-');  // not "-" + ...: GCC 12 -O3 -Wrestrict
  run_command({"/usr/bin/pkill", signal_arg, "-P", std::to_string(process_->pid())}, "/dev/null",
              5s);
  process_->signal(sig);
}

void PostgresServer::promote() const {
  sql("SELECT pg_promote(true, 30)");
}

PostgresServer::~PostgresServer() {
  stop();
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

void PostgresServer::start() {
  start_through({"/usr/lib/postgresql/15/bin/postgres", "-D", data_dir_});
}

void PostgresServer::start_through(const std::vector<std::string>& command) {
  process_ = std::make_unique<ChildProcess>(as_user("postgres", command), dir_ + "/postgres.log");
  db::PostgresDriver driver;
  wait_until_connectable([&] { (void)driver.connect(node("postgres", "", "postgres"), 1s); },
                         *process_, "postgres");
}

void PostgresServer::stop() {
  if (process_)
    process_->stop(SIGINT, 30s);  // fast shutdown
  process_.reset();
}

void PostgresServer::sql(const std::string& statements, const std::string& database) const {
  db::PostgresDriver driver;
  auto conn = driver.connect(node("postgres", "", database), 5s);
  (void)conn->execute(statements, {});
}

db::DbNode PostgresServer::node(const std::string& user, const std::string& password,
                                const std::string& database) const {
  return db::DbNode{
      .host = "127.0.0.1", .port = port_, .user = user, .password = password, .database = database};
}

}  // namespace medgate::testing
