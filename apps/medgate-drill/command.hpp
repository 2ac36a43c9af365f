// Runs a program (no shell) and collects its output: how the drill runner drives
// supervisorctl and docker.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace medgate::drill {

struct CommandResult {
  int exit_code = -1;  // -1: could not start, or killed by a signal
  std::string output;  // stdout and stderr together, at most 64 KiB
};

// Runs argv[0] (looked up in PATH) with the arguments; waits for it, at most `timeout`
// (then it is killed: exit_code -1, and the output says so).
[[nodiscard]] CommandResult run_command(const std::vector<std::string>& argv,
                                        std::chrono::seconds timeout = std::chrono::seconds(300));

}  // namespace medgate::drill
