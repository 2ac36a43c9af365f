// Reading a Cookie request header (RFC 6265 §5.4: "name=value; name2=value2").
#pragma once

#include <string>
#include <string_view>

namespace medgate::auth {

// The value of the first cookie named `name`, empty when absent.
[[nodiscard]] std::string cookie_value(std::string_view header, std::string_view name);

}  // namespace medgate::auth
