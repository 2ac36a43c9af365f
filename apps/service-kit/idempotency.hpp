// Idempotent writes: a POST carrying `Idempotency-Key` runs its write and records the reply
// under the key in the same transaction. A retry with the same key and the same request gets
// the recorded reply (marked `Idempotent-Replayed: true`) and writes nothing; the same key
// with a different request is refused (422). So the gateway's retries, or a client's, never
// book an appointment or take a payment twice.
#pragma once

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

// Runs `write(conn)` in one transaction, under the request's Idempotency-Key when present
// (at most 128 plain characters, else 400). Table: idempotency_keys(idem_key, request_hash,
// status, body), created by each service's migrations.
[[nodiscard]] boost::asio::awaitable<Response> idempotent_write(
    db::DbPool& pool, SqlDialect dialect, const RequestContext& ctx,
    std::function<Reply(db::DbConnection&)> write);

}  // namespace medgate::service
