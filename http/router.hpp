// Routes by method and path pattern for the programs that answer with Beast messages (the
// hospital services, the monitors' API). Patterns are literal segments and {name}
// captures: "/patients/{rut}/payments"; a capture is percent-decoded.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>

#include "http/beast_site.hpp"

namespace medgate::httpd {

using RouteParams = std::vector<std::pair<std::string, std::string>>;

// The matching, apart from what a route does.
class RouteTable {
 public:
  // Returns the route's index.
  size_t add(boost::beast::http::verb method, std::string_view pattern);

  struct Match {
    std::optional<size_t> route;  // HEAD matches a GET route
    RouteParams params;
    bool path_known = false;  // some route has this path, maybe with another method
  };
  [[nodiscard]] Match match(boost::beast::http::verb method, std::string_view path) const;
  // Route i's method and pattern ("GET /patients/{rut}"): metric labels that name no one.
  [[nodiscard]] const std::string& label(size_t route) const { return routes_.at(route).label; }
  [[nodiscard]] std::vector<std::string> labels() const;

 private:
  struct Route {
    std::string label;
    boost::beast::http::verb method;
    std::vector<std::string> segments;
  };
  std::vector<Route> routes_;
};

// Routes whose handlers take a `Context` (RequestContext or a type derived from it).
template <typename Context>
class Router {
 public:
  using Handler = std::function<boost::asio::awaitable<Response>(Context&)>;

  void add(boost::beast::http::verb method, std::string pattern, Handler handler) {
    table_.add(method, pattern);
    handlers_.push_back(std::move(handler));
  }

  struct Match {
    const Handler* handler = nullptr;
    size_t route = 0;  // when handler is set
    RouteParams params;
    bool path_known = false;
  };
  [[nodiscard]] Match match(boost::beast::http::verb method, std::string_view path) const {
    RouteTable::Match m = table_.match(method, path);
    Match out;
    out.path_known = m.path_known;
    if (m.route) {
      out.handler = &handlers_[*m.route];
      out.route = *m.route;
      out.params = std::move(m.params);
    }
    return out;
  }
  [[nodiscard]] std::vector<std::string> labels() const { return table_.labels(); }
  [[nodiscard]] const std::string& label(size_t route) const { return table_.label(route); }

 private:
  RouteTable table_;
  std::vector<Handler> handlers_;
};

}  // namespace medgate::httpd
