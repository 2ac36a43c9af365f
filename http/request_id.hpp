// X-Request-Id handling shared by medgate and the services.
#pragma once

#include <random>
#include <string>
#include <string_view>

namespace medgate::httpd {

// A client's X-Request-Id is kept only when it is short and plain (it ends up in logs):
// 1-128 characters of A-Z a-z 0-9 - _ .
[[nodiscard]] bool acceptable_request_id(std::string_view id);

// 32 random hex digits.
[[nodiscard]] std::string make_request_id(std::mt19937_64& rng);
// The same into `out`, reusing its capacity (a 32-character string is past the small
// string buffer: a fresh one costs an allocation per request).
void make_request_id(std::mt19937_64& rng, std::string& out);

}  // namespace medgate::httpd
