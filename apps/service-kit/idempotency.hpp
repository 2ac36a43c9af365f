// Idempotent writes: a POST carrying `Idempotency-Key` claims the key, runs its write and
// records the reply under the key, all in one transaction. Then:
// - a retry with the same key and the same request gets the recorded reply (marked
//   `Idempotent-Replayed: true`) and writes nothing;
// - the same key with a different request is refused (422 idempotency_key_reused);
// - a concurrent twin waits on the key's row lock for the first one's outcome (commit:
//   replay; rollback: it runs itself), so two clicks never give two writes, a 500 or a
//   misleading 422;
// - a COMMIT whose answer was lost runs again: the re-run finds the key if the first one
//   committed, and replays it. Without a key that outcome stays unknown: the caller gets
//   504 {"outcome": "unknown"} and must not assume either way.
// A key belongs to its caller and route (Stripe's keys are per account): it is stored as
// the SHA-256 of (caller, method, path, key), so the same key from another caller, or on
// another route, is another key — it neither replays the first caller's answer nor tells
// them the key exists.
// Keys live for `IdempotencyOptions::ttl` at least; expire_idempotency_keys removes older
// ones in bounded batches.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "apps/service-kit/http_service.hpp"
#include "apps/service-kit/sql_dialect.hpp"
#include "clients/db/db_pool.hpp"

namespace medgate::service {

struct Reply {
  unsigned status = 200;
  std::string body;  // JSON
};

// Stable digest of method, target and body (FNV-1a, hex): the same request on any instance.
[[nodiscard]] std::string request_fingerprint(const Request& req);

// The key as stored: hex SHA-256 of `caller`, the request's method and path, and the key the
// caller sent. Callers and routes never share a stored key.
[[nodiscard]] std::string scoped_idempotency_key(std::string_view caller, const Request& req,
                                                 std::string_view key);

// Runs `write(conn)` in one transaction, under the request's Idempotency-Key when present
// (at most 128 plain characters, else 400), until the request's deadline at the latest.
// The key is the caller's: `caller` when given (the portal's session patient), else the
// verified token's subject, else "" (a service with authentication off).
// A `write` answering 5xx is rolled back and not recorded. Table: idempotency_keys(idem_key,
// request_hash, status, body, created_at), created by each service's migrations.
[[nodiscard]] boost::asio::awaitable<Response> idempotent_write(
    db::DbPool& pool, SqlDialect dialect, const RequestContext& ctx,
    std::function<Reply(db::DbConnection&)> write, std::string_view caller = {});

// Deletes at most `batch` keys older than `ttl`; returns how many. Blocking (pool threads).
size_t expire_idempotency_keys(db::DbPool& pool, SqlDialect dialect, std::chrono::seconds ttl,
                               size_t batch = 1000);

}  // namespace medgate::service
