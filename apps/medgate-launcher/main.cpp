// medgate-launcher: holds medgate's listening socket across restarts, so that a restart
// refuses no connection and fails no request.
//
//   medgate-launcher --listen ADDR:PORT [--ready-timeout SECONDS] -- medgate --config FILE
//
// It binds ADDR:PORT once and runs the command with the socket on fd 3 (MEDGATE_LISTEN_FD)
// and a pipe on fd 4 (MEDGATE_READY_FD) on which medgate writes once it is serving.
//   SIGHUP           asks the running medgate for its upstreams' state (SIGUSR2: it writes
//                    MEDGATE_STATE_FILE, a file in a private directory of the launcher),
//                    starts a new medgate on the same socket that takes that state over
//                    (MEDGATE_STATE_ADOPT: breakers and ejections of unchanged upstreams);
//                    once it says it is ready the old one gets SIGTERM and drains (finishes
//                    what it has, accepts no more).
//                    A new one that exits or is not ready in time (a configuration that does
//                    not load, say) is stopped and the running one stays: logged.
//   SIGTERM, SIGINT  passed to every medgate; exits when they have, with the current one's
//                    status.
// If the current medgate dies on its own, the launcher exits with its status (its
// supervisor restarts it).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <set>
#include <string>
#include <vector>

extern char** environ;

namespace {

void log(const char* level, const std::string& msg) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[40];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::fprintf(stderr, "%s.%03lld+00:00 %s launcher: %s\n", stamp, static_cast<long long>(ms),
               level, msg.c_str());
  std::fflush(stderr);
}

int usage() {
  std::fprintf(stderr,
               "usage: medgate-launcher --listen ADDR:PORT [--ready-timeout SECONDS] -- "
               "COMMAND [ARGS...]\n");
  return 2;
}

// Binds and listens; -1 with the reason logged.
int listen_on(const std::string& spec) {
  const size_t colon = spec.rfind(':');
  if (colon == std::string::npos)
    return -1;
  const std::string host = spec.substr(0, colon);
  const int port = std::atoi(spec.substr(colon + 1).c_str());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (port <= 0 || port > 65535 || inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    log("error", "--listen " + spec + ": expected IPv4ADDR:PORT");
    return -1;
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, SOMAXCONN) != 0) {
    log("error", "cannot listen on " + spec + ": " + std::strerror(errno));
    ::close(fd);
    return -1;
  }
  return fd;
}

struct Child {
  pid_t pid = -1;
  int ready_fd = -1;  // our end of its readiness pipe
};

// Starts the command with the socket on fd 3 and the readiness pipe's write end on fd 4;
// MEDGATE_STATE_FILE names where medgate writes its state on SIGUSR2, and with `adopt` the
// new one takes over what is there.
Child spawn_child(const std::vector<std::string>& argv, int listen_fd,
                  const std::string& state_file, bool adopt) {
  Child c;
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0)
    return c;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, listen_fd, 3);  // dup2 clears close-on-exec
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 4);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);  // the child gets signals normally
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    if (!kv.starts_with("MEDGATE_LISTEN_FD=") && !kv.starts_with("MEDGATE_READY_FD=") &&
        !kv.starts_with("MEDGATE_STATE_FILE=") && !kv.starts_with("MEDGATE_STATE_ADOPT="))
      env_store.push_back(kv);
  }
  env_store.push_back("MEDGATE_LISTEN_FD=3");
  env_store.push_back("MEDGATE_READY_FD=4");
  env_store.push_back("MEDGATE_STATE_FILE=" + state_file);
  if (adopt)
    env_store.push_back("MEDGATE_STATE_ADOPT=1");
  std::vector<char*> envp, args;
  for (auto& e : env_store)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int rc = posix_spawnp(&c.pid, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(pipefd[1]);
  if (rc != 0) {
    log("error", argv[0] + ": cannot start: " + std::strerror(rc));
    ::close(pipefd[0]);
    c.pid = -1;
    return c;
  }
  c.ready_fd = pipefd[0];
  return c;
}

// Waits until the child says it is ready (true), or exits, or `timeout` passes (false).
bool wait_ready(Child& c, std::chrono::milliseconds timeout) {
  pollfd p{.fd = c.ready_fd, .events = POLLIN, .revents = 0};
  const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  char byte = 0;
  const bool ready = n == 1 && ::read(c.ready_fd, &byte, 1) == 1;
  ::close(c.ready_fd);
  c.ready_fd = -1;
  return ready;
}

// A directory only this launcher writes in (mode 700), removed with its contents at exit:
// the running medgate's state for its successor.
class StateDir {
 public:
  StateDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/medgate-launcher.XXXXXX";
    if (::mkdtemp(templ.data()))
      dir_ = templ;
  }
  StateDir(const StateDir&) = delete;
  StateDir& operator=(const StateDir&) = delete;
  ~StateDir() {
    if (dir_.empty())
      return;
    ::unlink(file().c_str());
    ::rmdir(dir_.c_str());
  }
  [[nodiscard]] bool ok() const { return !dir_.empty(); }
  [[nodiscard]] std::string file() const { return dir_ + "/state.json"; }

 private:
  std::string dir_;
};

// Asks medgate `pid` to write its state to `file` (SIGUSR2) and waits for it, at most
// `timeout`. False when it did not appear: the successor then starts afresh.
bool request_state(pid_t pid, const std::string& file, std::chrono::milliseconds timeout) {
  ::unlink(file.c_str());
  if (::kill(pid, SIGUSR2) != 0)
    return false;
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (::access(file.c_str(), R_OK) == 0)
      return true;
    ::poll(nullptr, 0, 5);
  }
  return false;
}

std::string describe(int status) {
  if (WIFEXITED(status))
    return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "ended";
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen;
  std::chrono::milliseconds ready_timeout{15000};
  std::vector<std::string> command;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--" && i + 1 < argc) {
      command.assign(argv + i + 1, argv + argc);
      break;
    }
    if (a == "--listen" && i + 1 < argc)
      listen = argv[++i];
    else if (a == "--ready-timeout" && i + 1 < argc)
      ready_timeout = std::chrono::milliseconds(
          static_cast<int64_t>(std::max(0.1, std::atof(argv[++i])) * 1000));
    else
      return usage();
  }
  if (listen.empty() || command.empty())
    return usage();

  // Signals arrive on a signalfd, handled in order in one loop.
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGHUP, SIGTERM, SIGINT, SIGCHLD})
    sigaddset(&mask, s);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  const int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC);

  const int listen_fd = listen_on(listen);
  if (listen_fd < 0)
    return 1;
  const StateDir state;
  if (!state.ok()) {
    log("error", std::string("cannot make a private directory for the state hand-over: ") +
                     std::strerror(errno));
    return 1;
  }
  Child current = spawn_child(command, listen_fd, state.file(), false);
  if (current.pid < 0 || !wait_ready(current, ready_timeout)) {
    log("error", "medgate did not start");
    if (current.pid > 0)
      ::kill(current.pid, SIGKILL);
    return 1;
  }
  log("info", "listening on " + listen + "; medgate is pid " + std::to_string(current.pid));

  std::set<pid_t> draining;  // old ones finishing their requests
  bool stopping = false;
  int exit_status = 0;
  for (;;) {
    signalfd_siginfo si{};
    if (::read(sfd, &si, sizeof si) != sizeof si) {
      if (errno == EINTR)
        continue;
      return 1;
    }
    if (si.ssi_signo == SIGHUP && !stopping) {
      log("info", "SIGHUP: starting a new medgate on the same socket");
      const bool handed = request_state(current.pid, state.file(), std::chrono::seconds(2));
      if (!handed)
        log("warning", "medgate " + std::to_string(current.pid) +
                           " wrote no state in 2 s: the new one starts with fresh breakers");
      Child next = spawn_child(command, listen_fd, state.file(), handed);
      if (next.pid > 0 && wait_ready(next, ready_timeout)) {
        ::kill(current.pid, SIGTERM);
        draining.insert(current.pid);
        log("info", "medgate " + std::to_string(next.pid) + " serves; " +
                        std::to_string(current.pid) + " drains");
        current = next;
      } else {
        log("error", "the new medgate did not become ready: the running one (" +
                         std::to_string(current.pid) + ") stays; see its log above");
        if (next.pid > 0) {
          ::kill(next.pid, SIGKILL);
          draining.insert(next.pid);
        }
      }
      ::unlink(state.file().c_str());
    } else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
      stopping = true;
      ::kill(current.pid, SIGTERM);
      for (pid_t p : draining)
        ::kill(p, SIGTERM);
    }
    // Reap whatever ended (SIGCHLD coalesces: look at every child).
    int status = 0;
    pid_t p = 0;
    while ((p = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (p == current.pid) {
        exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        if (!stopping)
          log("error",
              "medgate " + std::to_string(p) + " " + describe(status) + " on its own: stopping");
        current.pid = -1;
        stopping = true;
        for (pid_t d : draining)
          ::kill(d, SIGTERM);
      } else if (draining.erase(p)) {
        log("info", "medgate " + std::to_string(p) + " " + describe(status));
      }
    }
    if (stopping && current.pid < 0 && draining.empty())
      return exit_status;
  }
}
