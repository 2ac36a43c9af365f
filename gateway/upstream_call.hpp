// One call to an upstream through its policy chain, in parts a reader can take one at a time:
//
//   admit()        rate limit -> bulkhead -> upstream breaker: permits, or a refusal
//   AttemptPlan    which endpoint next, how long this try may take, when to stop
//   call_upstream  attempts: endpoint breaker -> send -> record -> retry decision
//   unavailable    no usable answer: a fresh-enough stale copy, or an explicit error that
//                  says why, for how long (Retry-After), and whether a write may have happened
//
// Nothing here touches a socket: attempts go through the Transport seam, time comes from
// the injected clock, so the whole chain is unit-tested on a fake clock.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <spdlog/logger.h>
#include <boost/asio/awaitable.hpp>

#include "auth/principal.hpp"
#include "auth/token_cache.hpp"
#include "clients/wire_message.hpp"
#include "gateway/metrics.hpp"
#include "gateway/transport.hpp"
#include "gateway/upstream.hpp"
#include "resilience/clock.hpp"
#include "resilience/endpoint_selector.hpp"

namespace medgate::gateway {

using clients::WireRequest;
using clients::WireResponse;

// Filled while a request is handled; ends up in the access log.
struct RequestInfo {
  std::string request_id;
  size_t route = 0;  // index into Gateway::route_labels()
  // Views into the configuration, which outlives every request.
  std::string_view upstream;
  std::string_view endpoint;
  uint32_t attempts = 0;
  bool stale = false;
  // A routed request's target as the upstream sees it (before an endpoint's base path).
  std::string upstream_target;
  // The request's path in its one canonical spelling (auth/canonical_path.hpp): what is
  // authorized, routed and forwarded.
  std::string path;
  // Who called (empty subject: no valid token) and which patient the call is about, as the
  // access rules decided; `audit` when the call goes to the audit log.
  std::string subject;
  auth::RoleSet roles;
  std::string patient;
  bool audit = false;
  bool denied = false;  // refused by the access rules (401/403)
  // Why a presented token was refused (TokenRefusal::reason): logged, so an operator sees a
  // token outside its key's grant as such. Never the token itself.
  std::string token_refusal;
  // The connection's peer address, set once per connection (kept by clear()).
  std::string client;
  // The connection came in on the operator listener (kept by clear()).
  bool operator_listener = false;

  void clear() {  // keeps the strings' capacity: a session reuses one RequestInfo
    request_id.clear();
    upstream_target.clear();
    path.clear();
    subject.clear();
    roles = {};
    patient.clear();
    audit = false;
    denied = false;
    token_refusal.clear();
    route = 0;
    upstream = {};
    endpoint = {};
    attempts = 0;
    stale = false;
  }
};

// A response and how it came about: from an upstream through its policy chain (or a stale
// copy, or the gateway's explicit refusal), or from the gateway's own endpoints.
// A session keeps one and has every request answered into it, so the response's buffers
// keep their capacity from one request to the next.
struct Reply {
  WireResponse response;
  bool ok = false;  // a response from the upstream (any status) or a stale copy
  bool stale = false;
  std::string_view endpoint;  // into the configuration
  uint32_t attempts = 0;

  void clear() {
    response.clear();
    ok = false;
    stale = false;
    endpoint = {};
    attempts = 0;
  }
};

// What a gateway thread lends to each of its calls.
struct CallEnv {
  const resilience::Clock& clock;
  Transport& transport;
  std::mt19937_64& rng;
  std::vector<resilience::EndpointView>& views;  // scratch for the selector
  spdlog::logger& events;
  auth::VerifiedTokenCache* tokens = nullptr;  // the thread's, when it keeps one

  [[nodiscard]] double unit_random() {
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  }
};

// GET, HEAD, OPTIONS and TRACE change nothing (RFC 9110 §9.2.1); anything else may.
[[nodiscard]] bool is_safe_method(std::string_view method);

// Admission: the permits a call holds until it ends, or why it may not start.
struct Admission {
  resilience::Bulkhead::Permit bulkhead;
  resilience::CircuitBreaker::Permit breaker;
};
struct Refusal {
  Rejection why;
  unsigned status;         // 429 rate limited, 503 otherwise
  std::string_view error;  // "rate_limited" | "upstream_unavailable"
  std::string_view reason;
  resilience::Duration retry_after;  // the real wait: the bucket's, or the breaker's
};
[[nodiscard]] std::variant<Admission, Refusal> admit(Upstream& up);

// Sends `req` (its target replaced by `target`) to `up` with all its policies, answering
// into `out` (cleared first). `req`, `target`, `info` and `out` must outlive the awaitable.
[[nodiscard]] boost::asio::awaitable<void> call_upstream(Upstream& up, const WireRequest& req,
                                                         std::string_view target, CallEnv& env,
                                                         RequestInfo& info, Reply& out);

}  // namespace medgate::gateway
