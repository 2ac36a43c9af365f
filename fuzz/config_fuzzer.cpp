// medgate's configuration loader on any text: a valid configuration or a ConfigError, never
// a crash, a hang or another exception.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "config/yaml_reader.hpp"
#include "gateway/gateway_config.hpp"
#include "gateway/portal/portal_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    // With the section medgate's main adds, as medgate reads its file.
    medgate::gateway::PortalConfig portal;
    (void)medgate::gateway::parse_gateway_config(
        medgate::config::Document::from_string(
            text, "fuzz.yaml", [](const std::string&) { return std::optional<std::string>("1"); }),
        {medgate::gateway::portal_config_section(portal)});
  } catch (const medgate::config::ConfigError&) {
  }
  return 0;
}
