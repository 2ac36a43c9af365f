// Base64url without padding (RFC 4648 §5), as JWTs and session ids use it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace medgate::auth {

[[nodiscard]] std::string base64url_encode(std::string_view bytes);
// nullopt when `text` is not base64url without padding.
[[nodiscard]] std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace medgate::auth
