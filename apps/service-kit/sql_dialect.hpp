#pragma once

#include <cstdint>

namespace medgate::service {

// Which SQL the services' own statements are written in.
enum class SqlDialect : uint8_t { mysql, postgres };

}  // namespace medgate::service
