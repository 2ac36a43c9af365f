// Pieces of the shipped configuration (config/medgate.example.yaml) for tests that run
// medgate with exactly what ships.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "tests/support/process.hpp"

namespace medgate::testing {

// The `auth.rules` block ("  rules:\n    - ..."), and with `with_client_rate_limit` also the
// per-caller rate limit that follows it. Throws when the file no longer has that layout.
inline std::string shipped_access_rules(bool with_client_rate_limit) {
  std::ifstream in(source_dir() + "/config/medgate.example.yaml");
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  const size_t from = all.find("  rules:\n");
  const size_t to = all.find(with_client_rate_limit ? "\naudit_log:" : "\n# Per caller", from);
  if (from == std::string::npos || to == std::string::npos)
    throw std::runtime_error("config/medgate.example.yaml: auth.rules not where expected");
  return all.substr(from, to - from + 1);
}

}  // namespace medgate::testing
