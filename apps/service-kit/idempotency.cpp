#include "apps/service-kit/idempotency.hpp"

#include <cstdio>

#include "apps/service-kit/json_input.hpp"

namespace medgate::service {

namespace {

const char* select_key_sql(SqlDialect d) {
  return d == SqlDialect::postgres
             ? "SELECT request_hash, status, body FROM idempotency_keys WHERE idem_key = $1 "
               "FOR UPDATE"
             : "SELECT request_hash, status, body FROM idempotency_keys WHERE idem_key = ? "
               "FOR UPDATE";
}

const char* insert_key_sql(SqlDialect d) {
  return d == SqlDialect::postgres
             ? "INSERT INTO idempotency_keys (idem_key, request_hash, status, body) VALUES "
               "($1, $2, $3, $4)"
             : "INSERT INTO idempotency_keys (idem_key, request_hash, status, body) VALUES "
               "(?, ?, ?, ?)";
}

struct Outcome {
  Reply reply;
  bool replayed = false;
};

Outcome run_once(db::DbPool& pool, SqlDialect d, const std::optional<std::string>& key,
                 const std::string& hash, const std::function<Reply(db::DbConnection&)>& write) {
  return pool.with_transaction(db::Access::write, [&](db::DbConnection& c) -> Outcome {
    if (key) {
      const auto found = c.execute(select_key_sql(d), {*key});
      if (!found.rows.empty()) {
        if (found.at(0, "request_hash") != hash)
          throw InputError(422, "idempotency_key_reused", "Idempotency-Key",
                           "this Idempotency-Key was used for a different request");
        return {{static_cast<unsigned>(std::stoul(*found.at(0, "status"))),
                 found.at(0, "body").value_or("")},
                true};
      }
    }
    Reply r = write(c);
    if (key && r.status < 500)
      (void)c.execute(insert_key_sql(d), {*key, hash, std::to_string(r.status), r.body});
    return {std::move(r), false};
  });
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

boost::asio::awaitable<Response> idempotent_write(db::DbPool& pool, SqlDialect dialect,
                                                  const RequestContext& ctx,
                                                  std::function<Reply(db::DbConnection&)> write) {
  std::optional<std::string> key;
  if (const auto k = ctx.header("Idempotency-Key"); !k.empty()) {
    bool plain = k.size() <= 128;
    for (char c : k)
      plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                        c == '.' || c == ':');
    if (!plain)
      throw InputError(400, "invalid_header", "Idempotency-Key",
                       "Idempotency-Key must be at most 128 letters, digits or -_.:");
    key = std::string(k);
  }
  const std::string hash = request_fingerprint(ctx.request);
  // Blocking work on the pool's threads; a concurrent twin with the same key loses the race
  // on the key's primary key and, re-run, finds the winner's reply.
  const Outcome out = co_await pool.run([&]() -> Outcome {
    try {
      return run_once(pool, dialect, key, hash, write);
    } catch (const db::DbError& e) {
      if (e.kind() != db::DbErrorKind::conflict || !key)
        throw;
      return run_once(pool, dialect, key, hash, write);
    }
  });
  Response res = json_reply(ctx.request, out.reply.status, out.reply.body);
  if (out.replayed)
    res.set("Idempotent-Replayed", "true");
  co_return res;
}

}  // namespace medgate::service
