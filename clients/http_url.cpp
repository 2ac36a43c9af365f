#include "clients/http_url.hpp"

#include "clients/host_name.hpp"

#include <charconv>

namespace medgate::clients {

std::optional<HttpEndpoint> parse_http_url(std::string_view url, std::string& error) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    error = "endpoint must start with http:// (got '" + std::string(url) + "')";
    return std::nullopt;
  }
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string base_path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  while (!base_path.empty() && base_path.back() == '/')
    base_path.pop_back();

  std::string_view host;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {  // [::1]:80
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "unterminated '[' in endpoint '" + std::string(url) + "'";
      return std::nullopt;
    }
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      port_text = authority.substr(close + 2);
  } else {
    const size_t colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos)
      port_text = authority.substr(colon + 1);
  }
  uint16_t port = 80;
  if (!port_text.empty()) {
    const auto r = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (r.ec != std::errc{} || r.ptr != port_text.data() + port_text.size() || port == 0) {
      error = "invalid port in endpoint '" + std::string(url) + "'";
      return std::nullopt;
    }
  }
  HttpEndpoint ep;
  ep.url = std::string(url);
  ep.host_header = std::string(authority);
  ep.base_path = std::move(base_path);
  const std::string host_str = host == "localhost" ? "127.0.0.1" : std::string(host);
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(host_str, ec);
  if (!ec) {
    ep.address = boost::asio::ip::tcp::endpoint(ip, port);
    return ep;
  }
  if (!is_host_name(host)) {
    error =
        "endpoint host must be an IP address or a host name (letters, digits, '-' and '.') "
        "(got '" +
        std::string(host) + "')";
    return std::nullopt;
  }
  ep.live = std::make_shared<LiveAddress>(std::string(host), port);
  return ep;
}

}  // namespace medgate::clients
