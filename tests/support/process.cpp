#include "tests/support/process.hpp"

#include <filesystem>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string_view>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "clients/curl_client.hpp"

namespace medgate::testing {

namespace {

// The parent's environment with each sanitizer's reports sent to `report_path`.<pid>.
// Built before fork: the child of a threaded parent may only call async-signal-safe code.
std::vector<std::string> child_environment(const std::string& report_path) {
  std::vector<std::string> env;
  std::vector<std::string> options = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS",
                                      "LSAN_OPTIONS"};
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    bool ours = false;
    for (const auto& name : options)
      ours = ours || entry.starts_with(name + "=");
    if (!ours)
      env.emplace_back(entry);
  }
  for (const auto& name : options) {
    const char* given = std::getenv(name.c_str());
    std::string value = given != nullptr ? std::string(given) + ":" : std::string();
    env.push_back(name + "=" + value + "log_path=" + report_path);
  }
  return env;
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, std::string log_path)
    : log_path_(std::move(log_path)), sanitizer_log_(log_path_ + ".sanitizer") {
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<std::string> env_strings = child_environment(sanitizer_log_);
  std::vector<char*> env;
  for (auto& e : env_strings)
    env.push_back(e.data());
  env.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    // Unblock the signals a test runner might have blocked.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(args[0], args.data(), env.data());
    ::_exit(127);
  }
}

ChildProcess::~ChildProcess() {
  kill();
}

void ChildProcess::signal(int sig) const {
  if (pid_ > 0)
    ::kill(pid_, sig);
}

void ChildProcess::kill() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGCONT);  // a stopped process must be able to die
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  reaped();
}

void ChildProcess::reaped() {
  const int pid = pid_;
  pid_ = -1;
  const std::string report = sanitizer_log_ + "." + std::to_string(pid);
  std::ifstream in(report);
  if (!in)
    return;
  std::stringstream text;
  text << in.rdbuf();
  ADD_FAILURE() << "sanitizer report from child process " << pid << " (" << report << "):\n"
                << text.str();
}

int ChildProcess::stop(int sig, std::chrono::milliseconds timeout) {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, sig);
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped();
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

bool ChildProcess::running() {
  if (pid_ <= 0)
    return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    reaped();
    return false;
  }
  return true;
}

std::string ChildProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool wait_for_http(const std::string& url, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    auto r = clients::curl_perform({.url = url, .timeout = std::chrono::milliseconds(200)});
    if (r.status > 0)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string binary_dir() {
  const char* d = std::getenv("MEDGATE_BINARY_DIR");
  return d ? d : MEDGATE_DEFAULT_BINARY_DIR;
}

std::string source_dir() {
  return MEDGATE_SOURCE_DIR;
}

int run_command(const std::vector<std::string>& argv, const std::string& log_path,
                std::chrono::milliseconds timeout) {
  ChildProcess p(argv, log_path);
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (!p.running())
      return p.exit_status();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return -1;  // the destructor kills it
}

// Raw socket exchange: sends `data`, returns whatever comes back until close or timeout.
std::string raw_exchange(uint16_t port, const std::string& data, int timeout_ms) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "connect failed";
  }
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (!data.empty())
    (void)::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string executable_copy(const std::string& path, const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string copy = dir + "/" + fs::path(path).filename().string();
  fs::copy_file(path, copy, fs::copy_options::overwrite_existing);
  fs::permissions(copy, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  return copy;
}

std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "XXXXXX";
  if (!::mkdtemp(tmpl.data()))
    throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

bool make_certificate(const std::string& dir, const std::string& name) {
  return run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=" + name,
                      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                      dir + "/" + name + ".key", "-out", dir + "/" + name + ".crt"},
                     dir + "/openssl.log", std::chrono::seconds(20)) == 0;
}

}  // namespace medgate::testing
