#include "gateway/host_allow_list.hpp"

#include <algorithm>
#include <cctype>

#include <arpa/inet.h>

#include <boost/asio/ip/address.hpp>

#include "clients/host_name.hpp"

namespace medgate::gateway {

namespace {

std::string lower_without_dot(std::string_view s) {
  if (s.ends_with('.'))
    s.remove_suffix(1);
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool digits(std::string_view s) {
  return !s.empty() && s.size() <= 5 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

HostAllowList::HostAllowList(std::vector<std::string> names) {
  for (const auto& n : names)
    names_.push_back(lower_without_dot(n));
}

bool HostAllowList::allows(std::optional<std::string_view> host) const {
  if (!host)
    return true;
  std::string_view h = *host;
  if (h.empty() || h.size() > 260)
    return false;
  // [v6]:port, or name-or-v4[:port].
  if (h.front() == '[') {
    const size_t close = h.find(']');
    if (close == std::string_view::npos)
      return false;
    const std::string_view rest = h.substr(close + 1);
    if (!rest.empty() && !(rest.front() == ':' && digits(rest.substr(1))))
      return false;
    boost::system::error_code ec;
    (void)boost::asio::ip::make_address_v6(std::string(h.substr(1, close - 1)), ec);
    return !ec;
  }
  if (const size_t colon = h.rfind(':'); colon != std::string_view::npos) {
    if (!digits(h.substr(colon + 1)))
      return false;
    h = h.substr(0, colon);
  }
  // Every request asks: a dotted quad is read from a stack buffer, without allocating.
  if (h.size() <= 15 && h.find_first_not_of("0123456789.") == std::string_view::npos) {
    char quad[16] = {};
    h.copy(quad, h.size());
    in_addr ignored{};
    if (::inet_pton(AF_INET, quad, &ignored) == 1)
      return true;
  }
  if (!clients::is_host_name(h))
    return false;
  const std::string name = lower_without_dot(h);
  return name == "localhost" || std::find(names_.begin(), names_.end(), name) != names_.end();
}

}  // namespace medgate::gateway
