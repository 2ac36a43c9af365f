#include "gateway/upstream_call.hpp"

#include <array>
#include <charconv>
#include <optional>

#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>

#include "gateway/http_util.hpp"
#include "resilience/retry.hpp"

namespace medgate::gateway {

namespace http = boost::beast::http;
using resilience::CallResult;
using resilience::Duration;
using resilience::FailureKind;
using resilience::TimePoint;

bool is_safe_method(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE";
}

namespace {

// Whole seconds for Retry-After: rounded up, at least 1, at most 5 minutes (a forced-open
// breaker has no end of its own).
int64_t retry_after_seconds(Duration d) {
  if (d >= std::chrono::minutes(5))
    return 300;
  return std::clamp<int64_t>(std::chrono::ceil<std::chrono::seconds>(d).count(), 1, 300);
}

}  // namespace

std::variant<Admission, Refusal> admit(Upstream& up) {
  if (up.limiter && !up.limiter->try_acquire())
    return Refusal{Rejection::rate_limited, 429, "rate_limited", "rate limit reached",
                   up.limiter->wait_for()};
  Admission a;
  a.bulkhead = up.bulkhead.try_acquire();
  if (!a.bulkhead)
    return Refusal{Rejection::bulkhead_full, 503, "upstream_unavailable",
                   "too many concurrent requests", std::chrono::seconds(1)};
  a.breaker = up.breaker.try_acquire();
  if (!a.breaker)
    return Refusal{Rejection::breaker_open, 503, "upstream_unavailable", "circuit breaker open",
                   up.time_until_available()};
  return a;
}

namespace {

struct Classified {
  AttemptOutcome outcome;
  resilience::AttemptOutcome retry_view;
  bool endpoint_failure;  // counts against the endpoint's breaker and outlier detector
  bool may_have_applied;  // the request may have reached the upstream, unanswered
};

Classified classify(const clients::SendResult& r, const WireResponse& response) {
  switch (r.error) {
    case clients::SendError::none: {
      const unsigned status = response.status;
      const bool fail = status >= 500;
      return {fail ? AttemptOutcome::http_5xx : AttemptOutcome::success,
              {FailureKind::none, status},
              fail,
              false};
    }
    case clients::SendError::connect_failed:
      return {AttemptOutcome::connect_failed, {FailureKind::connect_failed, 0}, true, false};
    case clients::SendError::reset:
      return {AttemptOutcome::reset, {FailureKind::reset, 0}, true, true};
    case clients::SendError::timeout:
      return {AttemptOutcome::timeout, {FailureKind::timeout, 0}, true, true};
    case clients::SendError::bad_response:
      return {AttemptOutcome::bad_response, {FailureKind::reset, 0}, true, true};
  }
  return {AttemptOutcome::reset, {FailureKind::reset, 0}, true, true};
}

// Bitmask with the low `n` bits set; n may be 64 (a plain shift would be undefined there).
uint64_t all_endpoints_mask(size_t n) {
  return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
}

// The retry state of one call: endpoints tried, the deadline, what happened last.
class AttemptPlan {
 public:
  AttemptPlan(const UpstreamConfig& cfg, bool safe, TimePoint now)
      : deadline_(now + (safe ? cfg.timeout : cfg.write_timeout)),
        per_try_(safe ? cfg.per_try_timeout : cfg.write_per_try_timeout),
        all_(all_endpoints_mask(cfg.endpoints.size())) {}

  // The next endpoint: an untried one first; once every endpoint was tried, preferably not
  // the last one. nullopt when none is routable.
  std::optional<size_t> next(Upstream& up, CallEnv& env) {
    up.views(env.views);
    auto pick = up.selector.pick(env.views, tried_, env.unit_random());
    if (!pick && tried_ != 0) {
      const uint64_t last_bit = last_endpoint_ < 64 ? (uint64_t{1} << last_endpoint_) : 0;
      pick = up.selector.pick(env.views, last_bit, env.unit_random());
      if (!pick)
        pick = up.selector.pick(env.views, 0, env.unit_random());
    }
    if (!pick)
      return std::nullopt;
    return pick->index;
  }
  // `ei`'s breaker refused it (half-open with its probes taken, or it just opened). True
  // while some endpoint is left to ask.
  bool refused(size_t ei) {
    tried_ |= uint64_t{1} << ei;
    return (tried_ & all_) != all_;
  }
  void attempted(size_t ei, const Classified& c) {
    tried_ |= uint64_t{1} << ei;
    last_endpoint_ = ei;
    last_ = c;
    may_have_applied_ = may_have_applied_ || c.may_have_applied;
  }
  [[nodiscard]] bool untried_left() const { return (tried_ & all_) != all_; }
  [[nodiscard]] TimePoint deadline() const { return deadline_; }
  // This try's time: the per-try timeout, or what is left of the overall one.
  [[nodiscard]] std::chrono::nanoseconds budget(TimePoint now) const {
    return std::min<std::chrono::nanoseconds>(per_try_, deadline_ - now);
  }
  [[nodiscard]] const std::optional<Classified>& last() const { return last_; }
  [[nodiscard]] bool may_have_applied() const { return may_have_applied_; }

 private:
  const TimePoint deadline_;
  const std::chrono::nanoseconds per_try_;
  const uint64_t all_;
  uint64_t tried_ = 0;
  size_t last_endpoint_ = SIZE_MAX;
  std::optional<Classified> last_;
  bool may_have_applied_ = false;
};

// Why there is no usable answer, in the client's terms.
struct Unavailable {
  unsigned status;
  std::string_view reason;
  Duration retry_after;
};

Unavailable unavailable_after(AttemptOutcome last, Upstream& up) {
  const Duration wait = up.time_until_available();
  switch (last) {
    case AttemptOutcome::timeout:
      return {504, "upstream timed out", wait};
    case AttemptOutcome::reset:
      return {502, "upstream connection reset", wait};
    case AttemptOutcome::bad_response:
      return {502, "upstream sent an invalid response", wait};
    case AttemptOutcome::connect_failed:
      return {503, "upstream refused or unreachable", wait};
    default:
      return {502, "upstream failed", wait};
  }
}

// A fresh-enough last-good copy, marked stale; false when there is none.
bool answer_stale(Upstream& up, const std::string& key, CallEnv& env, RequestInfo& info,
                  Reply& reply) {
  if (key.empty())
    return false;
  auto copy = up.stale.get(key, env.clock.now());
  if (!copy)
    return false;
  up.stats().stale_served();
  reply.response = std::move(copy->first);
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(copy->second);
  reply.response.fields.set("X-Medgate-Stale", "true");
  reply.response.fields.set("Age", std::to_string(age.count()));
  reply.ok = true;
  reply.stale = true;
  info.stale = true;
  return true;
}

void answer_error(Upstream& up, unsigned status, std::string_view error, std::string_view reason,
                  Duration retry_after, const RequestInfo& info, Reply& reply) {
  const int64_t secs = retry_after_seconds(retry_after);
  boost::json::object body{{"error", error},
                           {"upstream", up.name()},
                           {"reason", reason},
                           {"breaker", to_string(up.breaker.state())},
                           {"retry_after_seconds", secs},
                           {"request_id", info.request_id}};
  reply.response = json_response(status, body);
  reply.response.fields.add(http::field::retry_after, "Retry-After", std::to_string(secs));
}

// A request that may change state reached the upstream and got no answer: it may have been
// applied. Saying "failed" would invite a client to do it twice.
void answer_outcome_unknown(Upstream& up, const WireRequest& req, std::string_view reason,
                            const RequestInfo& info, Reply& reply) {
  up.stats().outcome_unknown();
  boost::json::object body{{"error", "outcome_unknown"},
                           {"outcome", "unknown"},
                           {"upstream", up.name()},
                           {"reason", reason},
                           {"request_id", info.request_id}};
  if (auto key = req.fields.find("Idempotency-Key")) {
    body["idempotency_key"] = *key;
    body["message"] =
        "the upstream may or may not have applied this request; send it again with the same "
        "Idempotency-Key to learn the outcome without applying it twice";
  } else {
    body["message"] =
        "the upstream may or may not have applied this request; check before sending it again "
        "(an Idempotency-Key makes retries safe)";
  }
  reply.response = json_response(504, body);
}

}  // namespace

boost::asio::awaitable<void> call_upstream(Upstream& up, const WireRequest& req,
                                           std::string_view target, CallEnv& env, RequestInfo& info,
                                           Reply& reply) {
  reply.clear();
  const UpstreamConfig& cfg = up.config();
  const bool safe = is_safe_method(req.method_text);
  const bool keyed = req.fields.find("Idempotency-Key").has_value();
  const bool idempotent = keyed || resilience::is_idempotent_method(req.method_text);
  // A shared store keyed by target must not hand one caller's answer to another
  // (RFC 9111 §3.5). A caller medgate verified and authorized for this target gets copies
  // kept for callers with the same roles (the answer may differ by role, never by who within
  // it: the access rules already decided this caller may see this target). Other requests
  // with credentials get none.
  const bool credentials = req.fields.find(http::field::authorization).has_value() ||
                           req.fields.find(http::field::cookie).has_value();
  const bool authorized = !info.subject.empty() && !req.fields.find(http::field::cookie);
  const bool may_use_stale =
      req.method == http::verb::get && up.stale.enabled() && (!credentials || authorized);
  std::string stale_key;
  if (may_use_stale) {
    if (credentials)
      stale_key.append(info.roles.str()).append(" ");
    stale_key.append(target);
  }
  info.upstream = cfg.name;
  up.stats().request();
  up.budget.record_request();

  auto admitted = admit(up);
  if (auto* no = std::get_if<Refusal>(&admitted)) {
    up.stats().rejected(no->why);
    if (!answer_stale(up, stale_key, env, info, reply))
      answer_error(up, no->status, no->error, no->reason, no->retry_after, info, reply);
    co_return;
  }
  Admission& permits = std::get<Admission>(admitted);

  AttemptPlan plan(cfg, safe, env.clock.now());
  std::string_view no_endpoint_reason = "no routable endpoint";
  char budget_ms[24];
  // The layers agree (docs/resilience.md): the upstream's half-open probe round probes the
  // endpoints its failures opened too, so a recovered upstream closes every layer in one
  // round instead of the layers re-opening each other. (An upstream of one endpoint has one
  // breaker: its endpoint's is disabled, see EndpointState.)
  if (permits.breaker.probe())
    up.probe_open_endpoints("the upstream's breaker is probing");

  bool none_routable = false;  // no endpoint of the upstream could take the call at all
  for (;;) {
    const auto pick = plan.next(up, env);
    if (!pick) {
      none_routable = info.attempts == 0;
      break;
    }
    const size_t ei = *pick;
    EndpointState& ep = up.endpoint(ei);
    auto ep_permit = ep.breaker.try_acquire();
    if (!ep_permit) {
      if (plan.refused(ei))
        continue;
      no_endpoint_reason = "every endpoint's breaker is open";
      break;
    }
    const auto now = env.clock.now();
    if (now >= plan.deadline())
      break;
    const auto per_try = plan.budget(now);

    // The upstream learns how long this try may take, so it can answer before we give up.
    const auto ms = std::max<int64_t>(
        1, std::chrono::duration_cast<std::chrono::milliseconds>(per_try).count());
    const auto end = std::to_chars(budget_ms, budget_ms + sizeof budget_ms, ms).ptr;
    std::string prefixed;  // only endpoints with a base path need a new string
    if (!ep.endpoint.base_path.empty())
      prefixed.append(ep.endpoint.base_path).append(target);
    const std::array<clients::FieldOverride, 3> fields{
        {{"Host", ep.endpoint.host_header},
         {"X-Request-Id", info.request_id},
         {"X-Medgate-Timeout-Ms", std::string_view(budget_ms, end - budget_ms)}}};
    const clients::WireEdits edits{prefixed.empty() ? target : std::string_view(prefixed), fields};
    ++info.attempts;
    if (info.attempts > 1)
      up.stats().retry();
    ep.in_flight.fetch_add(1, std::memory_order_relaxed);
    const clients::SendResult result =
        co_await env.transport.send(up, ei, req, reply.response, per_try, idempotent, edits);
    ep.in_flight.fetch_sub(1, std::memory_order_relaxed);

    const Classified c = classify(result, reply.response);
    up.stats().attempt(ei, c.outcome);
    ep_permit.record(c.endpoint_failure ? CallResult::failure : CallResult::success);
    if (c.endpoint_failure) {
      // The last routable endpoint is never kept out longer than the breaker's open period,
      // or the breaker's half-open probe would find nowhere to go.
      const Duration cap = up.last_routable(ei) ? cfg.breaker.open_for : Duration::max();
      if (ep.outlier.record_failure(up.may_eject(), cap)) {
        up.stats().ejection(ei);
        env.events.warn("endpoint ejected: upstream={} endpoint={} after {} consecutive failures",
                        cfg.name, ep.endpoint.url, cfg.outlier.consecutive_failures);
      }
    } else {
      ep.outlier.record_success();
    }
    plan.attempted(ei, c);
    info.endpoint = ep.endpoint.url;

    resilience::RetryRequest rr;
    rr.idempotent = idempotent;
    rr.attempts_made = info.attempts;
    rr.now = env.clock.now();
    rr.deadline = plan.deadline();
    rr.unit_random = env.unit_random();
    const auto decision = resilience::decide_retry(cfg.retry, c.retry_view, rr, &up.budget);
    if (!decision.retry()) {
      if (decision.verdict == resilience::RetryVerdict::budget_exhausted)
        up.stats().rejected(Rejection::budget_exhausted);
      if (result.error == clients::SendError::none) {
        if (!safe && plan.may_have_applied() && reply.response.status >= 500 &&
            !reply.response.fields.find("Idempotent-Replayed")) {
          // This try failed, but an earlier one went unanswered and may have been applied.
          permits.breaker.record(CallResult::failure);
          reply.attempts = info.attempts;
          answer_outcome_unknown(up, req, "an earlier attempt went unanswered", info, reply);
          co_return;
        }
        // The upstream answered (a 5xx that retries could not mend is passed on as said).
        permits.breaker.record(c.endpoint_failure ? CallResult::failure : CallResult::success);
        reply.ok = true;
        reply.endpoint = ep.endpoint.url;
        reply.attempts = info.attempts;
        if (!stale_key.empty() && reply.response.status < 300)
          up.stale.put(stale_key, reply.response, env.clock.now());
        co_return;
      }
      break;
    }
    // Failover to an untried endpoint goes at once; the same endpoint again waits.
    if (!plan.untried_left() && decision.backoff.count() > 0)
      co_await env.transport.sleep(decision.backoff);
  }

  // No usable response. When attempts failed, the upstream could not serve, and its breaker
  // should know. When none was made, the refusal is medgate's own:
  // - a half-open breaker never counts it: it is no failed probe (the layers would take
  //   turns re-opening each other while the upstream is healthy);
  // - a closed one counts it only when none of the upstream's endpoints is routable (each
  //   failing its health checks, ejected or with its breaker open): as far as medgate can
  //   tell the upstream is down, and its breaker, /health and Retry-After say so;
  // - an endpoint breaker with its probe slots taken is no evidence at all.
  const bool counts = plan.last() || (none_routable && !permits.breaker.probe());
  permits.breaker.record(counts ? CallResult::failure : CallResult::ignored);
  reply.attempts = info.attempts;
  if (!plan.last()) {
    up.stats().rejected(Rejection::no_endpoint);
    if (!answer_stale(up, stale_key, env, info, reply))
      answer_error(up, 503, "upstream_unavailable", no_endpoint_reason, up.time_until_available(),
                   info, reply);
    co_return;
  }
  const Unavailable u = unavailable_after(plan.last()->outcome, up);
  if (!safe && plan.may_have_applied()) {
    answer_outcome_unknown(up, req, u.reason, info, reply);
    co_return;
  }
  if (!answer_stale(up, stale_key, env, info, reply))
    answer_error(up, u.status, "upstream_unavailable", u.reason, u.retry_after, info, reply);
}

}  // namespace medgate::gateway
