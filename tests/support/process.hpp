// Real child processes for integration tests: started with fork/exec, output captured to
// a file, always stopped (by PID) when the handle goes away.
//
// Sanitizer reports of the child (ASan, UBSan, TSan, LSan: what a sanitizer preset builds
// into medgate and the services) go to "<log>.sanitizer.<pid>" through each sanitizer's
// log_path option, kept apart from the child's own output; when the process ends (reaped
// by kill, stop or running) any such report fails the running test with its text. In a
// build without sanitizers the options are ignored and no file appears.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace medgate::testing {

class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, std::string log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  [[nodiscard]] int pid() const { return pid_; }
  void signal(int sig) const;
  // Sends SIGKILL and reaps.
  void kill();
  // Sends `sig` and waits up to `timeout` for the exit; returns the exit status or -1.
  int stop(int sig, std::chrono::milliseconds timeout);
  [[nodiscard]] bool running();
  // The exit status once running() has returned false (-1 before).
  [[nodiscard]] int exit_status() const { return exit_status_; }
  [[nodiscard]] std::string log() const;

 private:
  void reaped();  // checks for sanitizer reports once the process is gone

  int pid_ = -1;
  int exit_status_ = -1;
  std::string log_path_;
  std::string sanitizer_log_;
};

// A TCP port that was free a moment ago on 127.0.0.1.
[[nodiscard]] uint16_t free_port();
// Polls GET url until it answers (any status) or `timeout` passes.
[[nodiscard]] bool wait_for_http(const std::string& url, std::chrono::milliseconds timeout);
// Directory of the built binaries (set by CMake).
[[nodiscard]] std::string binary_dir();
// The source tree (scripts the tests run).
[[nodiscard]] std::string source_dir();
// Runs a command to completion (output to `log_path`); its exit status, -1 on timeout.
int run_command(const std::vector<std::string>& argv, const std::string& log_path,
                std::chrono::milliseconds timeout);
// Raw TCP exchange with 127.0.0.1:port: sends `data`, returns whatever comes back until the
// peer closes or `timeout_ms` passes ("connect failed" when it cannot connect).
[[nodiscard]] std::string raw_exchange(uint16_t port, const std::string& data,
                                       int timeout_ms = 3000);
// A fresh temporary directory, removed by the caller.
[[nodiscard]] std::string make_temp_dir(const std::string& prefix);

// A self-signed certificate for 127.0.0.1 (openssl, made at test time: no key in the
// repository), written as <dir>/<name>.crt and .key; false (openssl's log in
// <dir>/openssl.log) when it could not be made.
[[nodiscard]] bool make_certificate(const std::string& dir, const std::string& name);
// A copy of the program `path` in `dir`, executable by everyone: a program started as another
// user (the postgres user) cannot run what lies in a checkout other users cannot enter.
// Returns the copy's path; throws when it cannot be made.
[[nodiscard]] std::string executable_copy(const std::string& path, const std::string& dir);

}  // namespace medgate::testing
