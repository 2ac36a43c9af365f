// Pages and files compiled in from web/ (web/web_assets.hpp), served with the headers a
// page of ours needs: its Content-Security-Policy, nosniff, no framing, no referrer.
#pragma once

#include <initializer_list>
#include <optional>
#include <string_view>

#include "clients/wire_message.hpp"

namespace medgate::gateway {

// Our pages' policy: nothing but medgate's own scripts, styles and data.
inline constexpr std::string_view kPageCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
// Swagger UI sets styles inline; the page has no data and no script of its own inline.
inline constexpr std::string_view kDocsCsp =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

// The compiled-in file `name`, typed by its extension.
[[nodiscard]] clients::WireResponse web_file(std::string_view name, std::string_view csp);

// The file `path` names below `dir`, when it is one of `files`.
[[nodiscard]] std::optional<std::string_view> file_in(
    std::string_view path, std::string_view dir, std::initializer_list<std::string_view> files);

}  // namespace medgate::gateway
