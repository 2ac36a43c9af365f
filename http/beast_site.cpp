#include "http/beast_site.hpp"

#include <stdexcept>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "clients/url_query.hpp"
#include "http/request_id.hpp"

namespace medgate::httpd {

namespace http = boost::beast::http;
namespace json = boost::json;

const std::string& RequestContext::param(std::string_view name) const {
  for (const auto& [k, v] : params)
    if (k == name)
      return v;
  throw std::out_of_range("no route parameter " + std::string(name));
}

std::optional<std::string> RequestContext::query_param(std::string_view name) const {
  const auto raw = clients::find_query_param(query, name);
  return raw ? clients::percent_decode(*raw) : std::nullopt;
}

std::string_view RequestContext::header(std::string_view name) const {
  const auto it = request.find(name);
  return it == request.end() ? std::string_view() : std::string_view(it->value());
}

Response json_reply(const Request& req, unsigned status, std::string body) {
  Response res{static_cast<http::status>(status), req.version()};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response error_reply(const Request& req, unsigned status, std::string_view code,
                     std::string_view message, std::string_view field) {
  json::object o{{"error", code}, {"message", message}};
  if (!field.empty())
    o["field"] = field;
  return json_reply(req, status, json::serialize(o));
}

void to_beast(const clients::WireRequest& wire, Request& out) {
  out = Request{};
  if (wire.method == http::verb::unknown)
    out.method_string(wire.method_text);
  else
    out.method(wire.method);
  out.target(wire.target);
  out.version(wire.version);
  for (size_t i = 0; i < wire.fields.size(); ++i) {
    const clients::WireField f = wire.fields[i];
    if (f.id == http::field::unknown)
      out.insert(f.name, f.value);
    else
      out.insert(f.id, f.value);
  }
  out.keep_alive(wire.keep_alive);
  out.body() = wire.body;
  if (!wire.body.empty())
    out.content_length(wire.body.size());
}

void to_wire(Response&& res, clients::WireResponse& out) {
  out.clear();
  out.status = res.result_int();
  out.reason = std::string(res.reason());
  for (const auto& f : res) {
    const http::field id = f.name();
    // Framing and connection management are the core's, as it writes the answer.
    if (id == http::field::content_length || id == http::field::transfer_encoding ||
        id == http::field::connection || id == http::field::keep_alive)
      continue;
    out.fields.add(id, f.name_string(), f.value());
  }
  out.sized_by_body = clients::status_allows_body(out.status);
  out.body = std::move(res.body());
}

class BeastSite::BeastResponder final : public httpd::Responder {
 public:
  BeastResponder(BeastSite& site, const Connection& connection)
      : site_(site),
        connection_(connection),
        rng_((uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()) {}

  boost::asio::awaitable<void> respond(const clients::WireRequest& wire, Answer& answer) override {
    to_beast(wire, request_);
    BeastExchange exchange{connection_, {}};
    if (auto id = wire.fields.find("X-Request-Id"); id && acceptable_request_id(*id))
      exchange.request_id.assign(*id);
    else
      make_request_id(rng_, exchange.request_id);
    Response res = co_await site_.serve(request_, exchange);
    res.set("X-Request-Id", exchange.request_id);
    const bool keep = res.keep_alive();
    to_wire(std::move(res), response_);
    answer.response = &response_;
    answer.keep_alive = keep;
  }

 private:
  BeastSite& site_;
  const Connection connection_;
  std::mt19937_64 rng_;
  Request request_;
  clients::WireResponse response_;
};

std::unique_ptr<httpd::Responder> BeastSite::open(const Connection& connection) {
  return std::make_unique<BeastResponder>(*this, connection);
}

}  // namespace medgate::httpd
