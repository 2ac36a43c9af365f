#include "apps/patient-portal/web_guard.hpp"

#include "auth/cookie.hpp"

#include <algorithm>

#include <boost/beast/core/string.hpp>

namespace medgate::service {

namespace {

bool one_of(std::string_view v, const std::vector<std::string>& list) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& x) { return boost::beast::iequals(x, v); });
}

// "http://host:port" of a URL, or empty.
std::string_view origin_of(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos)
    return {};
  const size_t path = url.find('/', scheme + 3);
  return url.substr(0, path);
}

}  // namespace

bool WebGuard::host_allowed(const Request& req) const {
  const auto it = req.find(http::field::host);
  return it != req.end() && one_of(it->value(), s_.allowed_hosts);
}

bool WebGuard::same_origin(const Request& req) const {
  if (const auto o = req.find(http::field::origin); o != req.end())
    return one_of(o->value(), s_.allowed_origins);
  if (const auto r = req.find(http::field::referer); r != req.end())
    return one_of(origin_of(r->value()), s_.allowed_origins);
  return false;
}

void WebGuard::harden(Response& res) const {
  res.set("Content-Security-Policy",
          "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
          "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  // same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on a form
  // POST, and the portal could no longer tell its own sign-in form from a foreign one.
  res.set("Referrer-Policy", "same-origin");
  res.set("Cross-Origin-Opener-Policy", "same-origin");
  res.set(http::field::cache_control, "no-store");
  if (s_.secure_cookie)
    res.set("Strict-Transport-Security", "max-age=31536000");
}

std::string WebGuard::session_cookie(const Request& req) const {
  const auto it = req.find(http::field::cookie);
  return it == req.end() ? std::string() : auth::cookie_value(it->value(), cookie_name());
}

std::string WebGuard::set_session_cookie(std::string_view value) const {
  std::string c =
      std::string(cookie_name()) + "=" + std::string(value) +
      "; HttpOnly; SameSite=Strict; Path=/; Max-Age=" + std::to_string(s_.session_absolute.count());
  if (s_.secure_cookie)
    c += "; Secure";
  return c;
}

std::string WebGuard::clear_session_cookie() const {
  std::string c = std::string(cookie_name()) + "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0";
  if (s_.secure_cookie)
    c += "; Secure";
  return c;
}

}  // namespace medgate::service
