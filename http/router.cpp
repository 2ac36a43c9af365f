#include "http/router.hpp"

#include "clients/url_query.hpp"

namespace medgate::httpd {

namespace http = boost::beast::http;

namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const size_t slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash);
  }
  return out;
}

}  // namespace

size_t RouteTable::add(http::verb method, std::string_view pattern) {
  std::string label = std::string(http::to_string(method)) + " " + std::string(pattern);
  routes_.push_back({std::move(label), method, split_path(pattern)});
  return routes_.size() - 1;
}

std::vector<std::string> RouteTable::labels() const {
  std::vector<std::string> out;
  for (const auto& r : routes_)
    out.push_back(r.label);
  return out;
}

RouteTable::Match RouteTable::match(http::verb method, std::string_view path) const {
  const std::vector<std::string> parts = split_path(path);
  Match m;
  for (const auto& r : routes_) {
    if (r.segments.size() != parts.size())
      continue;
    RouteParams params;
    bool ok = true;
    for (size_t i = 0; i < parts.size() && ok; ++i) {
      const std::string& s = r.segments[i];
      if (s.size() > 2 && s.front() == '{' && s.back() == '}') {
        auto decoded = clients::percent_decode(parts[i], false);
        ok = decoded.has_value();
        if (ok)
          params.emplace_back(s.substr(1, s.size() - 2), std::move(*decoded));
      } else {
        ok = s == parts[i];
      }
    }
    if (!ok)
      continue;
    m.path_known = true;
    if (r.method == method || (method == http::verb::head && r.method == http::verb::get)) {
      m.route = static_cast<size_t>(&r - routes_.data());
      m.params = std::move(params);
      return m;
    }
  }
  return m;
}

}  // namespace medgate::httpd
