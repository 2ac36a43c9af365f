// Runs a program (no shell) and collects its output: how the drill runner drives
// supervisorctl and docker.
#pragma once

#include <string>
#include <vector>

namespace medgate::drill {

struct CommandResult {
  int exit_code = -1;  // -1: could not start, or killed by a signal
  std::string output;  // stdout and stderr together, at most 64 KiB
};

// Runs argv[0] (looked up in PATH) with the arguments; waits for it.
[[nodiscard]] CommandResult run_command(const std::vector<std::string>& argv);

}  // namespace medgate::drill
