// Comparison of secrets (tokens) whose time does not depend on where they differ.
#pragma once

#include <string_view>

namespace medgate::httpd {

[[nodiscard]] bool secure_equals(std::string_view a, std::string_view b);

}  // namespace medgate::httpd
