#include "gateway/web_file.hpp"

#include <string>

#include "gateway/http_util.hpp"
#include "web/web_assets.hpp"

namespace medgate::gateway {

// A file compiled in from web/ (web/web_assets.hpp), typed by its extension.
clients::WireResponse web_file(std::string_view name, std::string_view csp) {
  const auto ext = name.substr(name.rfind('.') + 1);
  const std::string_view type = ext == "html"  ? "text/html; charset=utf-8"
                                : ext == "js"  ? "text/javascript; charset=utf-8"
                                : ext == "css" ? "text/css; charset=utf-8"
                                               : "application/json";
  auto res = text_response(200, std::string(web::asset(name)), type);
  res.fields.set("Content-Security-Policy", csp);
  res.fields.set("X-Content-Type-Options", "nosniff");
  res.fields.set("X-Frame-Options", "DENY");
  res.fields.set("Referrer-Policy", "no-referrer");
  res.fields.set("Cache-Control", "no-cache");
  return res;
}

// The file `path` names below `dir`, when it is one of `files`.
std::optional<std::string_view> file_in(std::string_view path, std::string_view dir,
                                        std::initializer_list<std::string_view> files) {
  if (!path.starts_with(dir))
    return std::nullopt;
  for (const std::string_view f : files)
    if (path.substr(dir.size()) == f)
      return f;
  return std::nullopt;
}

}  // namespace medgate::gateway
