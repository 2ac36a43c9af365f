// Cross-origin calls from browsers (CORS): only origins on the configured allow-list get
// the Access-Control-* headers that let a page read medgate's answers, and their preflight
// (OPTIONS with Access-Control-Request-Method) is answered here, never forwarded. Tokens are
// sent explicitly (Authorization), so credentials mode (cookies) is never allowed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "clients/wire_message.hpp"

namespace medgate::gateway {

struct CorsConfig {
  std::vector<std::string> allowed_origins;  // exact "scheme://host[:port]"; empty = none
  std::string allowed_methods = "GET, HEAD, POST, PUT, PATCH, DELETE";
  std::string allowed_headers = "Authorization, Content-Type, Idempotency-Key, X-Request-Id";
  std::string exposed_headers =
      "X-Request-Id, X-Medgate-Stale, Retry-After, Idempotent-Replayed, Age";
  int max_age_seconds = 600;
};

class Cors {
 public:
  explicit Cors(CorsConfig cfg) : cfg_(std::move(cfg)) {}

  // The answer to a preflight request, or nullopt when `req` is not one. An origin not on
  // the list gets 403 and no Access-Control-* header.
  [[nodiscard]] std::optional<clients::WireResponse> preflight(
      const clients::WireRequest& req) const;
  // Adds the Access-Control-* headers to `res` when `req` comes from an allowed origin
  // (and Vary: Origin whenever CORS is configured).
  void decorate(const clients::WireRequest& req, clients::WireResponse& res) const;

 private:
  [[nodiscard]] bool allowed(std::string_view origin) const;
  CorsConfig cfg_;
};

}  // namespace medgate::gateway
