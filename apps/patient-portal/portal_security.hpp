// How the portal knows its patients: sign-in with RUT and password (Argon2id), server-side
// sessions in the portal's database (any portal instance serves any session, and they
// survive a restart), failed attempts slowed and locked per RUT and per client address, and
// the short-lived patient token it calls medgate with.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "auth/token_issuer.hpp"
#include "clients/db/db_pool.hpp"
#include "config/yaml_reader.hpp"

namespace medgate::service {

using Deadline = std::optional<std::chrono::steady_clock::time_point>;

struct PortalSecuritySettings {
  std::chrono::seconds session_idle{30 * 60};
  std::chrono::seconds session_absolute{12 * 3600};
  bool secure_cookie = false;  // behind TLS: the cookie is sent over https only
  uint32_t max_failures_per_rut = 5;
  uint32_t max_failures_per_address = 20;
  std::chrono::seconds failure_window{15 * 60};
  std::chrono::seconds lockout{15 * 60};
  std::chrono::milliseconds slowdown_step{250};  // added per recent failure, up to 10 steps
  // Sign-in attempts per client address, right or wrong (a token bucket, per instance).
  double attempts_per_second = 0.5;
  double attempts_burst = 10;
  // Host header values the portal answers (DNS rebinding); Origin values it accepts on
  // state-changing requests. Defaults: 127.0.0.1:<port> and localhost:<port>, over http.
  std::vector<std::string> allowed_hosts;
  std::vector<std::string> allowed_origins;
  auth::IssuerOptions token;  // the patient tokens for medgate
  std::chrono::seconds token_ttl{300};
  // Demo patients whose password is set at start-up (the local stack's credentials.env).
  std::string demo_password;
  std::vector<std::string> demo_ruts;
};

// Reads the portal's `session`, `sign_in`, `web`, `tokens` and `demo_accounts` keys.
void read_portal_security(config::MapReader& root, PortalSecuritySettings& out);
// Fills the Host and Origin allow-lists left empty with the listener's own names.
void default_web_names(PortalSecuritySettings& s, uint16_t port);

struct Session {
  std::string rut;
  std::string csrf_token;
};

class SessionStore {
 public:
  SessionStore(db::DbPool& pool, const PortalSecuritySettings& s) : pool_(pool), s_(s) {}
  // A new session for `rut`: the cookie value (never stored: only its SHA-256 is) and the
  // session's record. Expired sessions are swept on the way.
  [[nodiscard]] boost::asio::awaitable<std::pair<std::string, Session>> open(std::string rut,
                                                                             Deadline until);
  // The live session the cookie value names, or nullopt (unknown, idle too long, too old).
  [[nodiscard]] boost::asio::awaitable<std::optional<Session>> find(std::string cookie,
                                                                    Deadline until);
  [[nodiscard]] boost::asio::awaitable<void> close(std::string cookie, Deadline until);

 private:
  db::DbPool& pool_;
  const PortalSecuritySettings& s_;
};

struct SignInResult {
  enum class Kind : uint8_t { ok, refused, locked };
  Kind kind = Kind::refused;
  std::string rut;  // canonical, when ok
  std::chrono::seconds retry_after{0};
};

class SignInGate {
 public:
  SignInGate(db::DbPool& pool, const PortalSecuritySettings& s);
  ~SignInGate();
  SignInGate(const SignInGate&) = delete;
  SignInGate& operator=(const SignInGate&) = delete;

  // The same answer, after the same work, whether the RUT has an account or not.
  [[nodiscard]] boost::asio::awaitable<SignInResult> sign_in(std::string rut_text,
                                                             std::string password,
                                                             std::string client_address,
                                                             Deadline until);
  // Sets the demo patients' password when it is configured and differs (blocking: start-up).
  void ensure_demo_accounts();

 private:
  [[nodiscard]] boost::asio::awaitable<bool> check_password(std::optional<std::string> stored,
                                                            std::string password);
  db::DbPool& pool_;
  const PortalSecuritySettings& s_;
  boost::asio::thread_pool hashers_;  // Argon2id is ~0.1 s of CPU: never on a request thread
};

}  // namespace medgate::service
