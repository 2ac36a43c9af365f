#include "apps/patient-portal/gateway_client.hpp"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>

namespace medgate::service {

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;

struct GatewayClient::Instance {
  Instance(clients::HttpEndpoint e, const resilience::CircuitBreakerConfig& c,
           const resilience::Clock& clock)
      : endpoint(std::move(e)), breaker(c, clock) {}
  clients::HttpEndpoint endpoint;
  resilience::CircuitBreaker breaker;
  std::unique_ptr<clients::ConnectionPool> pool;  // made on the first call (needs the executor)
};

GatewayClient::GatewayClient(std::vector<clients::HttpEndpoint> instances,
                             GatewayClientOptions options)
    : options_(options) {
  const resilience::CircuitBreakerConfig breaker{
      .consecutive_failures = options_.consecutive_failures,
      .failure_rate_threshold = 0,
      .open_for = options_.open_for,
      .half_open_calls = 1};
  for (auto& e : instances)
    instances_.push_back(std::make_unique<Instance>(std::move(e), breaker, clock_));
}

GatewayClient::~GatewayClient() = default;

void GatewayClient::resolve_names(std::chrono::milliseconds interval,
                                  clients::NameResolver::Report report) {
  resolver_ = std::make_unique<clients::NameResolver>(interval, std::move(report));
  for (const auto& i : instances_)
    resolver_->add(i->endpoint.live);
  resolver_->resolve_all();
  resolver_->start();
}

void GatewayClient::ensure_pools(asio::any_io_executor ex) const {
  std::call_once(pools_made_, [&] {
    // The handlers' executor is a connection's strand; sockets belong to the io_context
    // itself, so any of the portal's threads may use them.
    auto& io = static_cast<asio::io_context&>(asio::query(ex, asio::execution::context));
    for (auto& i : instances_)
      i->pool = std::make_unique<clients::ConnectionPool>(
          io.get_executor(), i->endpoint,
          clients::PoolOptions{.connect_timeout = options_.connect_timeout,
                               .idle_timeout = std::chrono::seconds(20),
                               .max_idle = options_.max_idle,
                               .shared = true});
  });
}

asio::awaitable<GatewayAnswer> GatewayClient::get(std::string target, std::string request_id,
                                                  std::string bearer) const {
  ensure_pools(co_await asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  clients::WireResponse res;
  bool answered = false;
  // Calls are spread over the instances; a refused or broken one sends the call to the next.
  // An instance whose breaker is open is skipped, unless every one is (then each is tried).
  const size_t n = instances_.size();
  const size_t first = static_cast<size_t>(next_.fetch_add(1, std::memory_order_relaxed) % n);
  std::vector<bool> tried(n, false);
  for (int pass = 0; pass < 2 && !answered; ++pass) {
    for (size_t k = 0; k < n && !answered; ++k) {
      const size_t idx = (first + k) % n;
      if (tried[idx])
        continue;
      Instance& inst = *instances_[idx];
      auto permit = inst.breaker.try_acquire();
      if (!permit && pass == 0)
        continue;  // open: tried only if every other instance fails too
      tried[idx] = true;
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::milliseconds(0))
        break;
      // A hung instance must not take the whole budget while another could answer.
      size_t untried = 0;
      for (size_t j = 0; j < n; ++j)
        untried += tried[j] ? 0 : 1;
      if (untried > 0)
        left /= 2;
      clients::WireRequest req;
      req.target = inst.endpoint.base_path + target;
      req.fields.add(http::field::host, "Host", inst.endpoint.host_header);
      req.fields.add(http::field::accept, "Accept", "application/json");
      req.fields.add("X-Request-Id", request_id);
      if (!bearer.empty())
        req.fields.add(http::field::authorization, "Authorization", "Bearer " + bearer);
      res = clients::WireResponse{};
      const clients::SendResult r = co_await inst.pool->send(req, res, left, true);
      answered = r.error == clients::SendError::none;
      if (permit)
        permit.record(answered ? resilience::CallResult::success : resilience::CallResult::failure);
    }
  }
  GatewayAnswer a;
  if (!answered) {
    a.reason = "the gateway did not answer";
    co_return a;
  }
  boost::system::error_code ec;
  json::value body = json::parse(res.body, ec);
  if (ec)
    body = nullptr;
  const auto age = res.fields.find(http::field::age);
  co_return answer_from(res.status, std::move(body), res.fields.find("X-Medgate-Stale").has_value(),
                        age ? std::atol(std::string(*age).c_str()) : 0);
}

GatewayAnswer answer_from(unsigned status, json::value body, bool stale, long age_seconds) {
  GatewayAnswer a;
  if (status == 200 && body.is_object()) {
    a.body = std::move(body);
    a.kind = stale ? GatewayAnswer::Kind::stale : GatewayAnswer::Kind::ok;
    a.stale_age_seconds = age_seconds;
    return a;
  }
  if (status == 404) {
    a.kind = GatewayAnswer::Kind::not_found;
    return a;
  }
  a.reason = "the gateway answered " + std::to_string(status);
  if (body.is_object()) {
    const auto& o = body.as_object();
    if (const auto* v = o.if_contains("reason"); v && v->is_string())
      a.reason = std::string(v->as_string());
    if (const auto* v = o.if_contains("upstream"); v && v->is_string())
      a.upstream = std::string(v->as_string());
    if (const auto* v = o.if_contains("retry_after_seconds"); v && v->is_int64())
      a.retry_after_seconds = static_cast<long>(v->as_int64());
  }
  return a;
}

OverviewAnswers split_overview(GatewayAnswer whole) {
  OverviewAnswers out;
  GatewayAnswer* parts[] = {&out.patient, &out.history, &out.payments, &out.doctors};
  json::object* sections = nullptr;
  if (whole.kind == GatewayAnswer::Kind::ok && whole.body.is_object())
    if (auto* s = whole.body.as_object().if_contains("sections"); s && s->is_object())
      sections = &s->as_object();
  if (!sections) {
    // The call itself failed (or answered 404, 4xx): every section shares its answer.
    GatewayAnswer failed = std::move(whole);
    if (failed.kind == GatewayAnswer::Kind::ok || failed.kind == GatewayAnswer::Kind::stale) {
      failed = GatewayAnswer{};
      failed.reason = "the gateway answered in an unexpected shape";
    }
    for (auto* p : parts)
      *p = failed;
    return out;
  }
  const char* names[] = {"patient", "medical_history", "payments", "doctors"};
  for (size_t i = 0; i < 4; ++i) {
    auto* section = sections->if_contains(names[i]);
    json::object* o = section && section->is_object() ? &section->as_object() : nullptr;
    const auto* status = o ? o->if_contains("status") : nullptr;
    auto* body = o ? o->if_contains("body") : nullptr;
    if (!status || !status->is_int64() || !body) {
      parts[i]->reason = std::string("the gateway's answer has no section ") + names[i];
      continue;
    }
    bool stale = false;
    long age = 0;
    if (body->is_object()) {
      if (const auto* v = body->as_object().if_contains("stale"); v && v->is_bool())
        stale = v->as_bool();
      if (const auto* v = body->as_object().if_contains("stale_age_seconds"); v && v->is_int64())
        age = static_cast<long>(v->as_int64());
    }
    *parts[i] =
        answer_from(static_cast<unsigned>(status->as_int64()), std::move(*body), stale, age);
  }
  return out;
}

}  // namespace medgate::service
