#include "gateway/cors.hpp"

#include <algorithm>

#include <boost/beast/http/field.hpp>

#include "gateway/http_util.hpp"

namespace medgate::gateway {

namespace http = boost::beast::http;

bool Cors::allowed(std::string_view origin) const {
  return std::find(cfg_.allowed_origins.begin(), cfg_.allowed_origins.end(), origin) !=
         cfg_.allowed_origins.end();
}

std::optional<clients::WireResponse> Cors::preflight(const clients::WireRequest& req) const {
  if (req.method != http::verb::options ||
      !req.fields.find(http::field::access_control_request_method))
    return std::nullopt;
  const auto origin = req.fields.find(http::field::origin);
  if (!origin || !allowed(*origin))
    return error_response(403, "origin_not_allowed", "this origin may not call medgate");
  clients::WireResponse res;
  res.status = 204;
  res.fields.set("Access-Control-Allow-Origin", *origin);
  res.fields.set("Access-Control-Allow-Methods", cfg_.allowed_methods);
  res.fields.set("Access-Control-Allow-Headers", cfg_.allowed_headers);
  res.fields.set("Access-Control-Max-Age", std::to_string(cfg_.max_age_seconds));
  res.fields.set("Vary", "Origin");
  return res;
}

void Cors::decorate(const clients::WireRequest& req, clients::WireResponse& res) const {
  if (cfg_.allowed_origins.empty())
    return;
  // Whatever an upstream said about CORS is not medgate's policy.
  res.fields.erase("Access-Control-Allow-Origin");
  res.fields.erase("Access-Control-Allow-Credentials");
  // Caches must keep one copy per Origin; an upstream's own Vary stays.
  const auto vary = res.fields.find(http::field::vary);
  if (!vary)
    res.fields.set("Vary", "Origin");
  else if (vary->find("Origin") == std::string_view::npos && *vary != "*")
    res.fields.set("Vary", std::string(*vary) + ", Origin");
  const auto origin = req.fields.find(http::field::origin);
  if (!origin || !allowed(*origin))
    return;
  res.fields.set("Access-Control-Allow-Origin", *origin);
  res.fields.set("Access-Control-Expose-Headers", cfg_.exposed_headers);
}

}  // namespace medgate::gateway
