// The portal's browser-facing rules: a Host allow-list (against DNS rebinding), same-origin
// checks on state-changing requests (with SameSite=Strict cookies and a per-session CSRF
// token), the session cookie's attributes, and the security headers every answer carries.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "apps/patient-portal/portal_security.hpp"
#include "apps/service-kit/http_service.hpp"

namespace medgate::service {

class WebGuard {
 public:
  explicit WebGuard(const PortalSecuritySettings& s) : s_(s) {}

  [[nodiscard]] bool host_allowed(const Request& req) const;
  // The request's Origin (or, without one, its Referer's origin) is one of the portal's.
  [[nodiscard]] bool same_origin(const Request& req) const;
  // CSP without 'unsafe-inline', frame-ancestors 'none', nosniff, Referrer-Policy, no-store.
  void harden(Response& res) const;

  [[nodiscard]] std::string_view cookie_name() const {
    return s_.secure_cookie ? "__Host-medgate_session" : "medgate_session";
  }
  // The session cookie's value in `req`, empty when none.
  [[nodiscard]] std::string session_cookie(const Request& req) const;
  [[nodiscard]] std::string set_session_cookie(std::string_view value) const;
  [[nodiscard]] std::string clear_session_cookie() const;

 private:
  const PortalSecuritySettings& s_;
};

}  // namespace medgate::service
