#include "apps/patient-portal/portal_security.hpp"

#include <algorithm>
#include <array>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "auth/key_set.hpp"
#include "auth/password.hpp"
#include "auth/secrets.hpp"
#include "domain/rut.hpp"

namespace medgate::service {

namespace asio = boost::asio;
using asio::awaitable;
using db::Access;
using db::DbConnection;
using std::chrono::seconds;

namespace {

std::string secs(seconds s) {
  return std::to_string(s.count());
}

}  // namespace

void default_web_names(PortalSecuritySettings& s, uint16_t port) {
  const std::string p = std::to_string(port);
  if (s.allowed_hosts.empty())
    s.allowed_hosts = {"127.0.0.1:" + p, "localhost:" + p};
  if (s.allowed_origins.empty())
    for (const auto& h : s.allowed_hosts)
      s.allowed_origins.push_back((s.secure_cookie ? "https://" : "http://") + h);
}

void read_portal_security(config::MapReader& root, PortalSecuritySettings& out) {
  using namespace std::chrono_literals;
  auto as_secs = [](auto d) { return std::chrono::duration_cast<seconds>(d); };
  if (auto n = root.optional("session")) {
    auto m = n->map();
    out.session_idle = as_secs(m.get_duration("idle_timeout", out.session_idle, 1min, 24h));
    out.session_absolute =
        as_secs(m.get_duration("absolute_timeout", out.session_absolute, 1min, 24h * 30));
    out.secure_cookie = m.get_bool("secure_cookie", false);
    m.finish();
    if (out.session_idle > out.session_absolute)
      n->fail_key("idle_timeout", "must not exceed absolute_timeout");
  }
  if (auto n = root.optional("sign_in")) {
    auto m = n->map();
    out.max_failures_per_rut =
        static_cast<uint32_t>(m.get_int("max_failures_per_rut", out.max_failures_per_rut, 1, 1000));
    out.max_failures_per_address = static_cast<uint32_t>(
        m.get_int("max_failures_per_address", out.max_failures_per_address, 1, 100000));
    out.failure_window = as_secs(m.get_duration("window", out.failure_window, 1s, 24h));
    out.lockout = as_secs(m.get_duration("lockout", out.lockout, 1s, 24h));
    out.slowdown_step = std::chrono::duration_cast<std::chrono::milliseconds>(
        m.get_duration("slowdown_step", out.slowdown_step, 0ms, 5s));
    out.attempts_per_second =
        m.get_double("attempts_per_second", out.attempts_per_second, 0.001, 1000);
    out.attempts_burst = m.get_double("attempts_burst", out.attempts_burst, 1, 100000);
    m.finish();
  }
  if (auto n = root.optional("web")) {
    auto m = n->map();
    if (auto h = m.optional("allowed_hosts"))
      out.allowed_hosts = h->names(64);
    if (auto o = m.optional("allowed_origins"))
      out.allowed_origins = o->names(64);
    m.finish();
  }
  {
    const config::Node node = root.required("tokens");
    auto m = node.map();
    const config::Node key = m.required("key_file");
    try {
      out.token.private_pem = auth::read_key_file(key.as_nonempty_string());
    } catch (const std::exception& e) {
      key.fail(e.what());
    }
    out.token.key_id = m.required("kid").as_nonempty_string();
    out.token.issuer = m.required("issuer").as_nonempty_string();
    out.token.audience = m.required("audience").as_nonempty_string();
    out.token_ttl = as_secs(m.get_duration("ttl", out.token_ttl, 10s, 1h));
    if (!auth::is_p256_pem(out.token.private_pem, true))
      key.fail("not an EC P-256 private key in PEM form");
    m.finish();
  }
  if (auto n = root.optional("demo_accounts")) {
    auto m = n->map();
    out.demo_password = m.get_string("password", "");
    if (auto r = m.optional("ruts"))
      for (const auto& item : r->items()) {
        auto rut = domain::normalize_rut(item.as_nonempty_string());
        if (!rut)
          item.fail("not a valid RUT");
        out.demo_ruts.push_back(*rut);
      }
    if (!out.demo_password.empty() && out.demo_password.size() < 12)
      m.required("password").fail("a demo password must have at least 12 characters");
    m.finish();
  }
}

awaitable<std::pair<std::string, Session>> SessionStore::open(std::string rut, Deadline until) {
  std::string cookie = auth::random_token(32);
  Session session{std::move(rut), auth::random_token(24)};
  const std::string id_hash = auth::sha256_hex(cookie);
  co_await pool_.transaction(until, Access::write, [&](DbConnection& c) {
    // Sweep a few expired sessions as new ones come: the table stays as large as its users.
    (void)c.execute("DELETE FROM sessions WHERE last_seen_at < NOW(3) - INTERVAL " +
                        secs(s_.session_idle) + " SECOND OR created_at < NOW(3) - INTERVAL " +
                        secs(s_.session_absolute) + " SECOND LIMIT 100",
                    {});
    (void)c.execute(
        "INSERT INTO sessions (id_hash, rut, csrf_token, created_at, last_seen_at) VALUES "
        "(?, ?, ?, NOW(3), NOW(3))",
        {id_hash, session.rut, session.csrf_token});
    return 0;
  });
  co_return std::make_pair(std::move(cookie), std::move(session));
}

awaitable<std::optional<Session>> SessionStore::find(std::string cookie, Deadline until) {
  if (cookie.empty() || cookie.size() > 128)
    co_return std::nullopt;
  const std::string id_hash = auth::sha256_hex(cookie);
  // On the primary: a session opened a moment ago may not have reached a replica yet.
  const auto rows = co_await pool_.query(until, Access::write, [&](DbConnection& c) {
    auto r = c.execute(
        "SELECT rut, csrf_token, TIMESTAMPDIFF(SECOND, last_seen_at, NOW(3)) AS idle "
        "FROM sessions WHERE id_hash = ? AND last_seen_at > NOW(3) - INTERVAL " +
            secs(s_.session_idle) + " SECOND AND created_at > NOW(3) - INTERVAL " +
            secs(s_.session_absolute) + " SECOND",
        {id_hash});
    // The idle clock restarts at most once a minute per session: one write, not one per page.
    if (!r.rows.empty() && std::stol(r.at(0, "idle").value_or("0")) >= 60)
      (void)c.execute("UPDATE sessions SET last_seen_at = NOW(3) WHERE id_hash = ?", {id_hash});
    return r;
  });
  if (rows.rows.empty())
    co_return std::nullopt;
  co_return Session{rows.at(0, "rut").value_or(""), rows.at(0, "csrf_token").value_or("")};
}

awaitable<void> SessionStore::close(std::string cookie, Deadline until) {
  if (cookie.empty() || cookie.size() > 128)
    co_return;
  const std::string id_hash = auth::sha256_hex(cookie);
  co_await pool_.query(until, Access::write, [&](DbConnection& c) {
    return c.execute("DELETE FROM sessions WHERE id_hash = ?", {id_hash}).affected_rows;
  });
}

SignInGate::SignInGate(db::DbPool& pool, const PortalSecuritySettings& s)
    : pool_(pool), s_(s), hashers_(1) {}

SignInGate::~SignInGate() {
  hashers_.join();
}

namespace {

// A coroutine with by-value parameters, not a capturing lambda: the frame owns its copies.
awaitable<bool> verify_or_burn(std::optional<std::string> stored, std::string password) {
  if (!stored) {
    auth::burn_password_check(password);  // the same cost as a real check
    co_return false;
  }
  co_return auth::verify_password(*stored, password);
}

}  // namespace

awaitable<bool> SignInGate::check_password(std::optional<std::string> stored,
                                           std::string password) {
  co_return co_await asio::co_spawn(
      hashers_, verify_or_burn(std::move(stored), std::move(password)), asio::use_awaitable);
}

awaitable<SignInResult> SignInGate::sign_in(std::string rut_text, std::string password,
                                            std::string client_address, Deadline until) {
  const auto rut = domain::normalize_rut(rut_text);
  const std::string rut_subject = "rut:" + (rut ? *rut : std::string("invalid"));
  const std::string address_subject = "ip:" + client_address.substr(0, 64);

  // One step, under the rows' locks: is the RUT or the address locked, and if not, this
  // attempt is counted against both before its password is checked. Checking and counting
  // apart let twelve concurrent wrong passwords all pass the check (ten wrong answers for a
  // limit of five); counted first, at most `max_failures_per_rut` attempts per window ever
  // reach a password check. A success gives its count back.
  struct Standing {
    long wait = 0;      // seconds still locked; 0: this attempt may go on
    long failures = 0;  // the RUT's failures in the window before this attempt
  };
  std::array<std::pair<std::string, uint32_t>, 2> subjects{
      std::pair{rut_subject, s_.max_failures_per_rut},
      std::pair{address_subject, s_.max_failures_per_address}};
  std::sort(subjects.begin(), subjects.end());  // one lock order for every attempt
  const Standing standing = co_await pool_.transaction(until, Access::write, [&](DbConnection& c) {
    Standing st;
    for (const auto& [subject, limit] : subjects)
      (void)c.execute(
          "INSERT INTO sign_in_failures (subject, failures, window_started, locked_until) "
          "VALUES (?, 0, NOW(3), NULL) ON DUPLICATE KEY UPDATE subject = subject",
          {subject});
    struct Count {
      bool fresh;     // the window has passed: this attempt starts a new one
      long failures;  // in the window, before this attempt
    };
    std::array<Count, 2> counts{};
    for (size_t i = 0; i < subjects.size(); ++i) {
      const auto r = c.execute(
          "SELECT failures, GREATEST(0, TIMESTAMPDIFF(SECOND, NOW(3), locked_until)) AS "
          "wait, TIMESTAMPDIFF(SECOND, window_started, NOW(3)) AS age FROM "
          "sign_in_failures WHERE subject = ? FOR UPDATE",
          {subjects[i].first});
      const bool fresh = std::stol(r.at(0, "age").value_or("0")) >= s_.failure_window.count();
      counts[i] = {fresh, fresh ? 0 : std::stol(r.at(0, "failures").value_or("0"))};
      st.wait = std::max(st.wait, std::stol(r.at(0, "wait").value_or("0")));
      if (subjects[i].first == rut_subject)
        st.failures = counts[i].failures;
    }
    if (st.wait > 0)
      return st;  // nothing counted: a locked attempt checks no password
    for (size_t i = 0; i < subjects.size(); ++i) {
      const long failures = counts[i].failures + 1;
      const std::string lock = failures >= static_cast<long>(subjects[i].second)
                                   ? "NOW(3) + INTERVAL " + secs(s_.lockout) + " SECOND"
                                   : "NULL";
      (void)c.execute(std::string("UPDATE sign_in_failures SET failures = ?, ") +
                          (counts[i].fresh ? "window_started = NOW(3), " : "") +
                          "locked_until = " + lock + " WHERE subject = ?",
                      {std::to_string(failures), subjects[i].first});
    }
    return st;
  });
  if (standing.wait > 0)
    co_return SignInResult{SignInResult::Kind::locked, {}, seconds(standing.wait)};

  std::optional<std::string> stored;
  if (rut) {
    const auto r = co_await pool_.query(until, Access::write, [&](DbConnection& c) {
      return c.execute("SELECT password_hash FROM patient_credentials WHERE rut = ?", {*rut});
    });
    if (!r.rows.empty())
      stored = r.at(0, "password_hash");
  }
  const bool ok = co_await check_password(std::move(stored), std::move(password));
  if (ok) {
    // A success clears the RUT's count, and gives back the address the attempt it counted.
    co_await pool_.transaction(until, Access::write, [&](DbConnection& c) {
      for (const auto& [subject, limit] : subjects) {
        if (subject == rut_subject)
          (void)c.execute("DELETE FROM sign_in_failures WHERE subject = ?", {subject});
        else
          (void)c.execute(
              "UPDATE sign_in_failures SET failures = GREATEST(failures - 1, 0), "
              "locked_until = IF(failures >= ?, locked_until, NULL) WHERE subject = ?",
              {std::to_string(limit), subject});
      }
      return 0;
    });
    co_return SignInResult{SignInResult::Kind::ok, *rut, {}};
  }
  // Each recent failure makes the next answer slower: guessing gets expensive.
  const auto delay = s_.slowdown_step * std::min<long>(standing.failures + 1, 10);
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return SignInResult{SignInResult::Kind::refused, {}, {}};
}

void SignInGate::ensure_demo_accounts() {
  if (s_.demo_password.empty())
    return;
  for (const auto& rut : s_.demo_ruts) {
    const auto r = pool_.with_connection(Access::write, [&](DbConnection& c) {
      return c.execute("SELECT password_hash FROM patient_credentials WHERE rut = ?", {rut});
    });
    if (!r.rows.empty() &&
        auth::verify_password(r.at(0, "password_hash").value_or(""), s_.demo_password))
      continue;
    const std::string hash = auth::hash_password(s_.demo_password);
    pool_.with_connection(Access::write, [&](DbConnection& c) {
      return c.execute(
          "INSERT INTO patient_credentials (rut, password_hash) VALUES (?, ?) "
          "ON DUPLICATE KEY UPDATE password_hash = VALUES(password_hash), updated_at = NOW()",
          {rut, hash});
    });
  }
}

}  // namespace medgate::service
