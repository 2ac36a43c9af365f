#pragma once

#include <array>
#include <string>
#include <vector>

#include <boost/beast/http/field.hpp>

namespace medgate::gateway {

template <typename Message>
void strip_hop_by_hop(Message& m) {
  namespace http = boost::beast::http;
  static constexpr std::array kFields = {http::field::connection,
                                         http::field::keep_alive,
                                         http::field::proxy_authenticate,
                                         http::field::proxy_authorization,
                                         http::field::proxy_connection,
                                         http::field::te,
                                         http::field::trailer,
                                         http::field::transfer_encoding,
                                         http::field::upgrade};
  // One pass first: most messages carry none, and each erase is a tree lookup.
  bool any = false;
  for (const auto& f : m) {
    for (auto hop : kFields)
      any = any || f.name() == hop;
  }
  if (!any)
    return;
  // Headers listed in Connection are hop-by-hop too.
  std::vector<std::string> listed;
  if (auto it = m.find(http::field::connection); it != m.end()) {
    std::string_view v = it->value();
    while (!v.empty()) {
      const size_t comma = v.find(',');
      std::string_view token = v.substr(0, comma);
      while (!token.empty() && token.front() == ' ')
        token.remove_prefix(1);
      while (!token.empty() && token.back() == ' ')
        token.remove_suffix(1);
      if (!token.empty())
        listed.emplace_back(token);
      if (comma == std::string_view::npos)
        break;
      v.remove_prefix(comma + 1);
    }
  }
  for (const auto& name : listed)
    m.erase(name);
  for (auto f : kFields)
    m.erase(f);
}

}  // namespace medgate::gateway
