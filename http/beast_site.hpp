// Beast messages on the HTTP core, for programs whose handlers build them (the hospital
// services, the monitors' API): a Site that hands each request over as a Beast request
// and writes the Beast response it gets back. The request loop stays the core's
// (http/server.hpp); only the message type differs from medgate's wire-form one.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "clients/wire_message.hpp"
#include "http/handler.hpp"

namespace medgate::httpd {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// What a routed handler is given (http/router.hpp); programs may derive their own.
struct RequestContext {
  const Request& request;
  std::vector<std::pair<std::string, std::string>> params;  // {name} segments of the pattern
  std::string_view query;
  std::string request_id;
  std::string client_address;  // the connection's peer ("127.0.0.1"), for per-client limits

  [[nodiscard]] const std::string& param(std::string_view name) const;
  // A query parameter, percent-decoded; nullopt when absent or malformed.
  [[nodiscard]] std::optional<std::string> query_param(std::string_view name) const;
  [[nodiscard]] std::string_view header(std::string_view name) const;
};

// JSON answers, never cached, keep-alive following the request.
[[nodiscard]] Response json_reply(const Request& req, unsigned status, std::string body);
// {"error": code, "message": message[, "field": field]}.
[[nodiscard]] Response error_reply(const Request& req, unsigned status, std::string_view code,
                                   std::string_view message, std::string_view field = {});

// The request as a Beast message (fields end-to-end only, as the core read them).
void to_beast(const clients::WireRequest& wire, Request& out);
// The response for the core to write; `res`'s body is moved. Framing fields are the core's.
void to_wire(Response&& res, clients::WireResponse& out);

// One request as the core hands it to a BeastSite.
struct BeastExchange {
  const Connection& connection;
  std::string request_id;  // the caller's X-Request-Id when acceptable, else a new one
};

class BeastSite : public Site {
 public:
  std::unique_ptr<httpd::Responder> open(const Connection& connection) final;

 protected:
  // Answers one request, on the connection's worker thread. The response gets
  // X-Request-Id; a HEAD request's answer goes out without its body.
  [[nodiscard]] virtual boost::asio::awaitable<Response> serve(Request& req,
                                                               const BeastExchange& exchange) = 0;

 private:
  class BeastResponder;
};

}  // namespace medgate::httpd
