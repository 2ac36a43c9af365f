// The policy chain for one upstream call:
//   rate limit -> bulkhead -> upstream breaker -> [select endpoint -> endpoint breaker ->
//   send -> record -> retry decision (safety, attempts, deadline, budget) -> back-off]
// A failed attempt moves to an endpoint not yet tried without waiting (failover); back-off
// applies only when an endpoint is tried again.
#include <array>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>

#include "gateway/gateway.hpp"
#include "gateway/http_util.hpp"

namespace medgate::gateway {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using resilience::CallResult;
using resilience::FailureKind;

namespace {

struct Classified {
  AttemptOutcome outcome;
  resilience::AttemptOutcome retry_view;
  bool endpoint_failure;  // counts against the endpoint's breaker and outlier detector
};

// Bitmask with the low `n` bits set; n may be 64 (a plain shift would be undefined there).
uint64_t all_endpoints_mask(size_t n) {
  return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
}

Classified classify(const clients::SendResult& r, const WireResponse& response) {
  switch (r.error) {
    case clients::SendError::none: {
      const unsigned status = response.status;
      const bool fail = status >= 500;
      return {fail ? AttemptOutcome::http_5xx : AttemptOutcome::success,
              {FailureKind::none, status},
              fail};
    }
    case clients::SendError::connect_failed:
      return {AttemptOutcome::connect_failed, {FailureKind::connect_failed, 0}, true};
    case clients::SendError::reset:
      return {AttemptOutcome::reset, {FailureKind::reset, 0}, true};
    case clients::SendError::timeout:
      return {AttemptOutcome::timeout, {FailureKind::timeout, 0}, true};
    case clients::SendError::bad_response:
      return {AttemptOutcome::bad_response, {FailureKind::reset, 0}, true};
  }
  return {AttemptOutcome::reset, {FailureKind::reset, 0}, true};
}

// The status and words for a request that got no usable upstream response.
struct Unavailable {
  unsigned status;
  std::string reason;
};

Unavailable unavailable_for(AttemptOutcome last) {
  switch (last) {
    case AttemptOutcome::timeout:
      return {504, "upstream timed out"};
    case AttemptOutcome::reset:
      return {502, "upstream connection reset"};
    case AttemptOutcome::bad_response:
      return {502, "upstream sent an invalid response"};
    case AttemptOutcome::connect_failed:
      return {503, "upstream refused or unreachable"};
    default:
      return {502, "upstream failed"};
  }
}

}  // namespace

asio::awaitable<void> Gateway::call_upstream(Upstream& up, const WireRequest& req,
                                             ThreadContext& tc, RequestInfo& info, Reply& reply,
                                             std::string_view target) {
  reply.clear();
  if (target.empty())
    target = req.target;
  const size_t ui = upstreams_.index_of(&up);
  const auto& cfg = up.config();
  const bool idempotent = resilience::is_idempotent_method(req.method_text) ||
                          req.fields.find("Idempotency-Key").has_value();
  const std::string stale_key =
      req.method == http::verb::get && up.stale.enabled() ? std::string(target) : std::string();
  info.upstream = cfg.name;
  metrics_.downstream_request(ui);
  up.budget.record_request();

  // Answers without a usable upstream response: a fresh-enough last-good copy when
  // configured, else an explicit error naming the upstream and its breaker state.
  auto degrade = [&](unsigned status, std::string_view reason, Rejection why, bool count) {
    if (count)
      metrics_.rejected(ui, why);
    if (!stale_key.empty()) {
      if (auto copy = up.stale.get(stale_key, clock_.now())) {
        metrics_.stale_served(ui);
        reply.response = std::move(copy->first);
        const auto age = std::chrono::duration_cast<std::chrono::seconds>(copy->second);
        reply.response.fields.set("X-Medgate-Stale", "true");
        reply.response.fields.set("Age", std::to_string(age.count()));
        reply.ok = true;
        reply.stale = true;
        info.stale = true;
        return;
      }
    }
    const auto snap = up.breaker.snapshot();
    boost::json::object body{{"error", "upstream_unavailable"},
                             {"upstream", cfg.name},
                             {"reason", reason},
                             {"breaker", to_string(snap.state)},
                             {"request_id", info.request_id}};
    int64_t retry_after = 1;
    if (snap.next_probe_at) {
      const auto left = *snap.next_probe_at - clock_.now();
      retry_after = std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(left).count());
    }
    body["retry_after_seconds"] = retry_after;
    reply.response = json_response(status, body);
    reply.response.fields.add(http::field::retry_after, "Retry-After", std::to_string(retry_after));
  };

  if (up.limiter && !up.limiter->try_acquire()) {
    degrade(429, "rate limit reached", Rejection::rate_limited, true);
    co_return;
  }
  auto bulkhead = up.bulkhead.try_acquire();
  if (!bulkhead) {
    degrade(503, "too many concurrent requests", Rejection::bulkhead_full, true);
    co_return;
  }
  auto upstream_permit = up.breaker.try_acquire();
  if (!upstream_permit) {
    degrade(503, "circuit breaker open", Rejection::breaker_open, true);
    co_return;
  }

  const auto start = clock_.now();
  const auto deadline = start + cfg.timeout;
  uint64_t tried = 0;
  size_t last_endpoint = SIZE_MAX;
  std::optional<AttemptOutcome> last_outcome;
  std::string_view no_endpoint_reason = "no routable endpoint";

  for (;;) {
    up.views(tc.views);
    auto pick = up.selector.pick(tc.views, tried, tc.unit_random());
    if (!pick && tried != 0) {
      // Every endpoint tried once: retries may go back, preferring not the last one.
      const uint64_t last_bit = last_endpoint < 64 ? (uint64_t{1} << last_endpoint) : 0;
      pick = up.selector.pick(tc.views, last_bit, tc.unit_random());
      if (!pick)
        pick = up.selector.pick(tc.views, 0, tc.unit_random());
    }
    if (!pick) {
      if (!last_outcome)
        metrics_.rejected(ui, Rejection::no_endpoint);
      break;
    }
    const size_t ei = pick->index;
    EndpointState& ep = up.endpoint(ei);
    auto ep_permit = ep.breaker.try_acquire();
    if (!ep_permit) {
      // Half-open with its probes taken, or opened since the views were built.
      tried |= uint64_t{1} << ei;
      if ((tried & all_endpoints_mask(up.size())) == all_endpoints_mask(up.size())) {
        no_endpoint_reason = "every endpoint's breaker is open";
        if (!last_outcome)
          metrics_.rejected(ui, Rejection::no_endpoint);
        break;
      }
      continue;
    }
    const auto now = clock_.now();
    if (now >= deadline)
      break;
    const auto per_try = std::min<std::chrono::nanoseconds>(cfg.per_try_timeout, deadline - now);

    std::string prefixed;  // only endpoints with a base path need a new string
    if (!ep.endpoint.base_path.empty())
      prefixed.append(ep.endpoint.base_path).append(target);
    const std::array<clients::FieldOverride, 2> fields{
        {{"Host", ep.endpoint.host_header}, {"X-Request-Id", info.request_id}}};
    const clients::WireEdits edits{prefixed.empty() ? std::string_view(target) : prefixed, fields};
    ++info.attempts;
    if (info.attempts > 1)
      metrics_.retry(ui);
    ep.in_flight.fetch_add(1, std::memory_order_relaxed);
    // Target, Host and X-Request-Id are set as the request is written.
    const clients::SendResult result =
        co_await tc.pools[ui][ei]->send(req, reply.response, per_try, idempotent, edits);
    ep.in_flight.fetch_sub(1, std::memory_order_relaxed);

    const Classified c = classify(result, reply.response);
    metrics_.attempt(ui, ei, c.outcome);
    ep_permit.record(c.endpoint_failure ? CallResult::failure : CallResult::success);
    if (c.endpoint_failure) {
      if (ep.outlier.record_failure(up.may_eject())) {
        metrics_.ejection(ui, ei);
        events_->warn("endpoint ejected: upstream={} endpoint={} after {} consecutive failures",
                      cfg.name, ep.endpoint.url, cfg.outlier.consecutive_failures);
      }
    } else {
      ep.outlier.record_success();
    }
    tried |= uint64_t{1} << ei;
    last_endpoint = ei;
    last_outcome = c.outcome;
    info.endpoint = ep.endpoint.url;

    resilience::RetryRequest rr;
    rr.idempotent = idempotent;
    rr.attempts_made = info.attempts;
    rr.now = clock_.now();
    rr.deadline = deadline;
    rr.unit_random = tc.unit_random();
    const auto decision = resilience::decide_retry(cfg.retry, c.retry_view, rr, &up.budget);
    if (!decision.retry()) {
      if (decision.verdict == resilience::RetryVerdict::budget_exhausted)
        metrics_.rejected(ui, Rejection::budget_exhausted);
      if (result.error == clients::SendError::none) {
        upstream_permit.record(c.endpoint_failure ? CallResult::failure : CallResult::success);
        reply.ok = true;
        reply.endpoint = ep.endpoint.url;
        reply.attempts = info.attempts;
        if (!stale_key.empty() && reply.response.status < 300)
          up.stale.put(stale_key, reply.response, clock_.now());
        // A retried 5xx that still failed is passed on as the upstream said it.
        co_return;
      }
      break;
    }
    // Failover to an untried endpoint goes at once; the same endpoint again waits.
    const bool untried_left =
        (tried & all_endpoints_mask(up.size())) != all_endpoints_mask(up.size());
    if (!untried_left && decision.backoff.count() > 0) {
      asio::steady_timer timer(co_await asio::this_coro::executor);
      timer.expires_after(decision.backoff);
      co_await timer.async_wait(asio::use_awaitable);
    }
  }

  // No usable response: whether every attempt failed or no endpoint could be tried at all,
  // the upstream could not serve, and its breaker should know.
  upstream_permit.record(CallResult::failure);
  if (!last_outcome) {
    degrade(503, no_endpoint_reason, Rejection::no_endpoint, false);
    co_return;
  }
  const Unavailable u = unavailable_for(*last_outcome);
  degrade(u.status, u.reason, Rejection::no_endpoint, false);
  reply.attempts = info.attempts;
}

}  // namespace medgate::gateway
