// Parsing of upstream endpoint URLs ("http://127.0.0.1:5001"). Only plain http with an IP
// literal or "localhost": endpoints are resolved at start-up, never on the request path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

namespace medgate::clients {

struct HttpEndpoint {
  std::string url;          // as configured, for logs and /health
  std::string host_header;  // "127.0.0.1:5001"
  std::string base_path;    // "" or "/prefix" (no trailing slash)
  boost::asio::ip::tcp::endpoint address;
};

// Returns nullopt and sets `error` when the URL is not usable.
[[nodiscard]] std::optional<HttpEndpoint> parse_http_url(std::string_view url, std::string& error);

}  // namespace medgate::clients
