// Parsing of upstream endpoint URLs ("http://127.0.0.1:5001", "http://app1:5001"). Only
// plain http. A host name is never looked up here or on the request path: the endpoint gets
// a LiveAddress, which the program's NameResolver keeps current on a thread of its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <memory>

#include <boost/asio/ip/tcp.hpp>

#include "clients/live_address.hpp"

namespace medgate::clients {

struct HttpEndpoint {
  std::string url;                         // as configured, for logs and /health
  std::string host_header;                 // "127.0.0.1:5001"
  std::string base_path;                   // "" or "/prefix" (no trailing slash)
  boost::asio::ip::tcp::endpoint address;  // an IP literal's (or localhost's)
  std::shared_ptr<LiveAddress> live;       // a host name's; null for an IP literal
};

// Returns nullopt and sets `error` when the URL is not usable.
[[nodiscard]] std::optional<HttpEndpoint> parse_http_url(std::string_view url, std::string& error);

}  // namespace medgate::clients
