// Query strings: finding a parameter and percent-decoding it (shared by medgate and the
// services).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace medgate::clients {

// The raw (still encoded) value of `name` in `query` ("a=1&b=2"); nullopt when absent.
// A name without '=' has an empty value.
[[nodiscard]] std::optional<std::string_view> find_query_param(std::string_view query,
                                                               std::string_view name);

// %XX becomes its byte, and '+' a space in a query (not in a path segment); nullopt on a
// malformed escape.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view raw,
                                                        bool plus_is_space = true);

// Every byte but the RFC 3986 unreserved ones (ALPHA DIGIT - . _ ~) as %XX: safe in a query
// value and in a form field.
[[nodiscard]] std::string percent_encode(std::string_view raw);

}  // namespace medgate::clients
