#include "apps/service-kit/idempotency.hpp"

#include <cstdio>

#include "apps/service-kit/json_input.hpp"
#include "auth/secrets.hpp"

namespace medgate::service {

namespace {

// Status 0 marks a claim whose write has not committed; no one outside the claiming
// transaction ever sees it.
const char* claim_key_sql(SqlDialect d) {
  return d == SqlDialect::postgres
             ? "INSERT INTO idempotency_keys (idem_key, request_hash, status, body) VALUES "
               "($1, $2, 0, '')"
             : "INSERT INTO idempotency_keys (idem_key, request_hash, status, body) VALUES "
               "(?, ?, 0, '')";
}

const char* record_reply_sql(SqlDialect d) {
  return d == SqlDialect::postgres
             ? "UPDATE idempotency_keys SET status = $1, body = $2 WHERE idem_key = $3"
             : "UPDATE idempotency_keys SET status = ?, body = ? WHERE idem_key = ?";
}

const char* select_key_sql(SqlDialect d) {
  return d == SqlDialect::postgres
             ? "SELECT request_hash, status, body FROM idempotency_keys WHERE idem_key = $1"
             : "SELECT request_hash, status, body FROM idempotency_keys WHERE idem_key = ?";
}

struct Outcome {
  Reply reply;
  bool replayed = false;
};

// Thrown inside the transaction to roll it back.
struct KeyTaken {};  // another transaction committed (or holds) this key
struct FailedWrite {
  Reply reply;
};

// One try: claim the key, write, record. Throws KeyTaken when the key is already recorded.
Outcome claim_and_write(db::DbPool& pool, SqlDialect d, const std::optional<std::string>& key,
                        const std::string& hash,
                        const std::function<Reply(db::DbConnection&)>& write,
                        std::optional<db::DbPool::Deadline> deadline) {
  try {
    return pool.with_transaction(
        db::Access::write,
        [&](db::DbConnection& c) -> Outcome {
          if (key) {
            try {
              // Blocks while a concurrent twin holds the key, until it commits or rolls back.
              (void)c.execute(claim_key_sql(d), {*key, hash});
            } catch (const db::DbError& e) {
              if (e.kind() == db::DbErrorKind::conflict)
                throw KeyTaken{};
              throw;
            }
          }
          Reply r = write(c);
          if (r.status >= 500)
            throw FailedWrite{std::move(r)};
          if (key)
            (void)c.execute(record_reply_sql(d), {std::to_string(r.status), r.body, *key});
          return {std::move(r), false};
        },
        deadline);
  } catch (FailedWrite& f) {
    return {std::move(f.reply), false};
  }
}

// The recorded reply for `key`, nullopt when there is none (its holder rolled back).
std::optional<Outcome> recorded(db::DbPool& pool, SqlDialect d, const std::string& key,
                                const std::string& hash,
                                std::optional<db::DbPool::Deadline> deadline) {
  const auto found = pool.with_connection(
      db::Access::write, [&](db::DbConnection& c) { return c.execute(select_key_sql(d), {key}); },
      deadline);
  if (found.rows.empty())
    return std::nullopt;
  if (found.at(0, "request_hash") != hash)
    throw InputError(422, "idempotency_key_reused", "Idempotency-Key",
                     "this Idempotency-Key was used for a different request");
  return Outcome{{static_cast<unsigned>(std::stoul(found.at(0, "status").value_or("0"))),
                  found.at(0, "body").value_or("")},
                 true};
}

Outcome run_keyed(db::DbPool& pool, SqlDialect d, const std::optional<std::string>& key,
                  const std::string& hash, const std::function<Reply(db::DbConnection&)>& write,
                  std::optional<db::DbPool::Deadline> deadline) {
  // Bounded: each round ends with a committed key (replayed) or our own commit, unless the
  // holder keeps rolling back or the commit keeps losing its answer.
  constexpr int kRounds = 4;
  for (int round = 1;; ++round) {
    try {
      return claim_and_write(pool, d, key, hash, write, deadline);
    } catch (const KeyTaken&) {
      if (auto replay = recorded(pool, d, *key, hash, deadline))
        return std::move(*replay);
      if (round >= kRounds)
        throw db::DbError(db::DbErrorKind::busy, "the Idempotency-Key stays claimed");
    } catch (const db::DbError& e) {
      // A lost COMMIT answer with a key: the re-run finds the key if it committed.
      if (e.kind() != db::DbErrorKind::outcome_unknown || !key || round >= kRounds)
        throw;
    }
  }
}

}  // namespace

std::string request_fingerprint(const Request& req) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;  // separator, so ("ab","c") and ("a","bc") differ
    h *= 1099511628211ull;
  };
  mix(req.method_string());
  mix(req.target());
  mix(req.body());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string scoped_idempotency_key(std::string_view caller, const Request& req,
                                   std::string_view key) {
  std::string scope;
  scope.reserve(caller.size() + key.size() + 64);
  // Lengths first: no two (caller, method, path, key) tuples give the same text.
  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  for (const std::string_view part : {caller, std::string_view(req.method_string()), path, key}) {
    scope += std::to_string(part.size());
    scope += ':';
    scope += part;
  }
  return auth::sha256_hex(scope);
}

boost::asio::awaitable<Response> idempotent_write(db::DbPool& pool, SqlDialect dialect,
                                                  const RequestContext& ctx,
                                                  std::function<Reply(db::DbConnection&)> write,
                                                  std::string_view caller) {
  std::optional<std::string> key;
  if (const auto k = ctx.header("Idempotency-Key"); !k.empty()) {
    bool plain = k.size() <= 128;
    for (char c : k)
      plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                        c == '.' || c == ':');
    if (!plain)
      throw InputError(400, "invalid_header", "Idempotency-Key",
                       "Idempotency-Key must be at most 128 letters, digits or -_.:");
    const std::string_view owner = !caller.empty() ? caller
                                   : ctx.principal ? std::string_view(ctx.principal->subject)
                                                   : std::string_view();
    key = scoped_idempotency_key(owner, ctx.request, k);
  }
  const std::string hash = request_fingerprint(ctx.request);
  const auto deadline = ctx.deadline;
  const Outcome out = co_await pool.run(
      [&]() -> Outcome { return run_keyed(pool, dialect, key, hash, write, deadline); });
  Response res = json_reply(ctx.request, out.reply.status, out.reply.body);
  if (out.replayed)
    res.set("Idempotent-Replayed", "true");
  co_return res;
}

size_t expire_idempotency_keys(db::DbPool& pool, SqlDialect dialect, std::chrono::seconds ttl,
                               size_t batch) {
  const std::string secs = std::to_string(ttl.count());
  const std::string limit = std::to_string(batch);
  // An index on created_at keeps each batch cheap.
  const std::string sql =
      dialect == SqlDialect::postgres
          ? "DELETE FROM idempotency_keys WHERE idem_key IN (SELECT idem_key FROM "
            "idempotency_keys WHERE created_at < now() - make_interval(secs => " +
                secs + ") LIMIT " + limit + ")"
          : "DELETE FROM idempotency_keys WHERE created_at < NOW() - INTERVAL " + secs +
                " SECOND LIMIT " + limit;
  return pool.with_connection(db::Access::write, [&](db::DbConnection& c) {
    return static_cast<size_t>(c.execute(sql, {}).affected_rows);
  });
}

}  // namespace medgate::service
