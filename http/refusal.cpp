#include "http/refusal.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace medgate::httpd {

namespace {

void json_error(unsigned status, std::string_view code, std::string_view message,
                clients::WireResponse& out) {
  out.clear();
  out.status = status;
  out.fields.add(boost::beast::http::field::content_type, "Content-Type", "application/json");
  out.fields.add(boost::beast::http::field::cache_control, "Cache-Control", "no-store");
  out.body = "{\"error\":";
  out.body += boost::json::serialize(boost::json::value(code));
  out.body += ",\"message\":";
  out.body += boost::json::serialize(boost::json::value(message));
  out.body += '}';
}

}  // namespace

void refusal_response(const ReadRefusal& refusal, clients::WireResponse& out) {
  json_error(refusal.status, refusal.error, refusal.message, out);
}

void internal_error_response(clients::WireResponse& out) {
  json_error(500, "internal_error", "the server failed to handle this request", out);
}

}  // namespace medgate::httpd
