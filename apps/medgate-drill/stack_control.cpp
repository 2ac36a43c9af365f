#include "apps/medgate-drill/stack_control.hpp"

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "apps/medgate-drill/command.hpp"

namespace medgate::drill {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
    s.pop_back();
  return s;
}

// Every process below `root` (PostgreSQL's backends, a wrapper's server), root first.
std::vector<pid_t> process_tree(pid_t root) {
  std::map<pid_t, std::vector<pid_t>> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line))
      continue;
    // pid (comm) state ppid ...: comm may hold spaces, so parse after the last ')'.
    const size_t close = line.rfind(')');
    if (close == std::string::npos)
      continue;
    std::istringstream rest(line.substr(close + 1));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    children[ppid].push_back(static_cast<pid_t>(std::stol(name)));
  }
  std::vector<pid_t> out{root};
  for (size_t i = 0; i < out.size(); ++i)
    for (pid_t c : children[out[i]])
      out.push_back(c);
  return out;
}

class LocalStack final : public StackControl {
 public:
  explicit LocalStack(std::string dir) : conf_(std::move(dir) + "/supervisord.conf") {}

  void stop(const std::string& p) override { ctl({"stop", p}); }
  void start(const std::string& p) override { ctl({"start", p}); }
  void restart(const std::string& p) override { ctl({"restart", p}); }
  void kill9(const std::string& p) override { signal_tree(p, SIGKILL); }
  void pause(const std::string& p) override {
    paused_[p] = process_tree(main_pid(p));
    for (pid_t pid : paused_[p])
      ::kill(pid, SIGSTOP);
    // SIGSTOP lands a moment later: return once every process is stopped (state T), so the
    // fault is marked when the server is frozen, not while it still answers.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    for (pid_t pid : paused_[p])
      while (!stopped(pid) && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void resume(const std::string& p) override {
    for (pid_t pid : paused_[p])
      ::kill(pid, SIGCONT);
    paused_.erase(p);
  }
  void handover(const std::string& p) override { ctl({"signal", "HUP", p}); }
  [[nodiscard]] std::string name(const std::string& p) const override { return p; }

 private:
  static bool stopped(pid_t pid) {
    std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(st, line);
    // pid (comm) state ...: comm may hold spaces and parentheses, the state follows the last ')'
    const auto close = line.rfind(')');
    return close == std::string::npos || close + 2 >= line.size() || line[close + 2] == 'T' ||
           line[close + 2] == 't';
  }

  std::string ctl(std::vector<std::string> args) {
    std::vector<std::string> argv{"supervisorctl", "-c", conf_};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_command(argv);
    // supervisorctl exits non-zero for "already started"/"not running": those are fine.
    if (r.exit_code != 0 && r.output.find("ERROR") != std::string::npos &&
        r.output.find("already started") == std::string::npos &&
        r.output.find("not running") == std::string::npos)
      throw ControlError("supervisorctl " + args[0] + " " + args.back() + ": " + trim(r.output));
    return trim(r.output);
  }
  pid_t main_pid(const std::string& p) {
    const std::string out = ctl({"pid", p});
    try {
      const long pid = std::stol(out);
      if (pid > 1)
        return static_cast<pid_t>(pid);
    } catch (const std::exception&) {
    }
    throw ControlError(p + " is not running (supervisorctl pid: " + out + ")");
  }
  void signal_tree(const std::string& p, int sig) {
    // Looked up first, then signalled together: the drill's clock starts at the signal.
    for (pid_t pid : process_tree(main_pid(p)))
      ::kill(pid, sig);
  }

  std::string conf_;
  std::map<std::string, std::vector<pid_t>> paused_;
};

class Compose final : public StackControl {
 public:
  void stop(const std::string& p) override { docker({"stop", name(p)}); }
  void start(const std::string& p) override { docker({"start", name(p)}); }
  void restart(const std::string& p) override { docker({"restart", name(p)}); }
  void kill9(const std::string& p) override { docker({"kill", "--signal", "KILL", name(p)}); }
  void pause(const std::string& p) override { docker({"pause", name(p)}); }
  void resume(const std::string& p) override { docker({"unpause", name(p)}); }
  void handover(const std::string& p) override { docker({"kill", "--signal", "HUP", name(p)}); }
  [[nodiscard]] std::string name(const std::string& p) const override {
    static const std::map<std::string, std::string> names{{"medical-1", "app1"},
                                                          {"medical-2", "app1-replica"},
                                                          {"admin-1", "app2-a"},
                                                          {"admin-2", "app2-b"},
                                                          {"medgate-admin", "app2"},
                                                          {"medgate-2", "middleware-2"},
                                                          {"portal", "app3"},
                                                          {"medgate", "middleware"},
                                                          {"medical-db-primary", "mariadb-master"},
                                                          {"medical-db-replica", "mariadb-replica"},
                                                          {"admin-db-primary", "postgres_primary"},
                                                          {"admin-db-standby", "postgres_replica"},
                                                          {"portal-db-primary", "mysql_primary"},
                                                          {"portal-db-replica", "mysql_replica"},
                                                          {"mariadb-monitor", "mariadb-monitor"},
                                                          {"postgres-monitor", "postgres-monitor"},
                                                          {"mysql-monitor", "mysql-monitor"}};
    const auto it = names.find(p);
    return it == names.end() ? p : it->second;
  }

 private:
  static void docker(std::vector<std::string> args) {
    args.insert(args.begin(), "docker");
    const auto r = run_command(args);
    if (r.exit_code != 0)
      throw ControlError("docker " + args[1] + " " + args.back() + ": " + trim(r.output));
  }
};

}  // namespace

std::unique_ptr<StackControl> local_stack_control(std::string stack_dir) {
  return std::make_unique<LocalStack>(std::move(stack_dir));
}
std::unique_ptr<StackControl> compose_control() {
  return std::make_unique<Compose>();
}

}  // namespace medgate::drill
