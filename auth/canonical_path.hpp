// One spelling per path, so that what is authorized is what is routed and forwarded:
// RFC 3986 §6.2.2 normalization (percent-encodings of unreserved characters decoded, the
// others upper-cased; "." and ".." segments resolved) plus doubled slashes collapsed.
// Spellings that different servers read differently are refused instead: an encoded '/' or
// '\', a raw '\', NUL or control characters, or ".." above the root.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace medgate::auth {

// `path` without its query. nullopt when refused (see above) or not starting with '/'.
// A trailing slash is kept.
[[nodiscard]] std::optional<std::string> canonical_path(std::string_view path);

// False when `path` is certainly canonical already (the usual case: no '%', "//", "/." or
// '', and a leading '/'), so callers skip canonical_path's copy.
[[nodiscard]] bool may_need_canonicalizing(std::string_view path);

}  // namespace medgate::auth
