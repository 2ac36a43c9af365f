// The gateway's policy chain on a fake clock and a scripted transport: admission, attempts,
// failover and back-off, budgets, unknown outcomes of writes, Retry-After values, stale
// copies and ejection bounds. No socket is opened.
#include "gateway/upstream_call.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "tests/support/fake_clock.hpp"
#include "tests/support/fake_transport.hpp"

namespace medgate::gateway {
namespace {

using namespace std::chrono_literals;
using clients::SendError;
using testing::FakeClock;
using testing::FakeTransport;
using ::testing::HasSubstr;
using ::testing::Not;

class UpstreamCallTest : public ::testing::Test {
 protected:
  // Two endpoints, ordered selection; `tweak` adjusts the rest before the upstream is built.
  void build(const std::function<void(UpstreamConfig&)>& tweak = {}) {
    UpstreamConfig u;
    u.name = "svc";
    for (int port : {1, 2}) {
      std::string err;
      u.endpoints.push_back(
          *clients::parse_http_url("http://127.0.0.1:" + std::to_string(port), err));
    }
    u.breaker.consecutive_failures = 100;  // breakers stay out of the way unless a test wants them
    u.breaker.failure_rate_threshold = 0.0;
    u.endpoint_breaker = u.breaker;
    u.outlier.consecutive_failures = 0;
    u.budget.min_retries = 1000;
    if (tweak)
      tweak(u);
    cfg_.upstreams = {u};
    metrics_ = std::make_unique<Metrics>(cfg_, std::vector<std::string>{"unmatched"});
    set_ = std::make_unique<UpstreamSet>(cfg_, clock_, *metrics_);
  }
  Upstream& up() { return *set_->all().front(); }

  struct Result {
    Reply reply;
    RequestInfo info;
    [[nodiscard]] std::string header(std::string_view name) const {
      return std::string(reply.response.fields.find(name).value_or(""));
    }
  };
  Result call(const std::string& method, const std::string& target,
              std::vector<std::pair<std::string, std::string>> fields = {}) {
    WireRequest req;
    req.method_text = method;
    req.method = boost::beast::http::string_to_verb(method);
    req.target = target;
    for (const auto& [n, v] : fields)
      req.fields.add(n, v);
    Result r;
    r.info.request_id = "req-1";
    boost::asio::io_context io;
    boost::asio::co_spawn(io, call_upstream(up(), req, req.target, env_, r.info, r.reply),
                          boost::asio::detached);
    io.run();
    return r;
  }

  FakeClock clock_;
  FakeTransport transport_{clock_};
  std::mt19937_64 rng_{7};
  std::vector<resilience::EndpointView> views_;
  spdlog::logger events_{"test", std::make_shared<spdlog::sinks::null_sink_mt>()};
  CallEnv env_{clock_, transport_, rng_, views_, events_};
  GatewayConfig cfg_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<UpstreamSet> set_;
};

TEST_F(UpstreamCallTest, OneAttemptCarriesHostRequestIdAndItsTimeBudget) {
  build();
  const auto r = call("GET", "/patients/1");
  EXPECT_TRUE(r.reply.ok);
  EXPECT_EQ(r.reply.response.status, 200u);
  EXPECT_EQ(r.reply.attempts, 1u);
  ASSERT_EQ(transport_.sent.size(), 1u);
  EXPECT_EQ(transport_.sent[0].endpoint, 0u);
  EXPECT_EQ(transport_.sent[0].target, "/patients/1");
  EXPECT_EQ(transport_.sent[0].fields["Host"], "127.0.0.1:1");
  EXPECT_EQ(transport_.sent[0].fields["X-Request-Id"], "req-1");
  EXPECT_EQ(transport_.sent[0].fields["X-Medgate-Timeout-Ms"], "1000");
  EXPECT_EQ(transport_.sent[0].timeout, 1s);
}

TEST_F(UpstreamCallTest, AFailedEndpointFailsOverAtOnceAndTheSameOneAgainWaitsABackOff) {
  build();
  transport_.script(0, {.error = SendError::connect_failed});
  transport_.script(1, {.status = 503});
  const auto r = call("GET", "/x");  // third attempt goes back to endpoint 0, which answers
  EXPECT_EQ(r.reply.response.status, 200u);
  ASSERT_EQ(transport_.sent.size(), 3u);
  EXPECT_EQ(transport_.sent[1].endpoint, 1u);
  EXPECT_EQ(transport_.slept.size(), 1u) << "failover to an untried endpoint does not wait";
}

TEST_F(UpstreamCallTest, TheTryBudgetIsWhatIsLeftOfTheOverallTimeout) {
  build();
  transport_.script(0, {.error = SendError::timeout, .latency = 1500ms});
  const auto r = call("GET", "/x");
  ASSERT_EQ(transport_.sent.size(), 2u);
  EXPECT_EQ(transport_.sent[1].timeout, 500ms);
  EXPECT_EQ(transport_.sent[1].fields["X-Medgate-Timeout-Ms"], "500");
  EXPECT_EQ(r.reply.response.status, 200u);
}

TEST_F(UpstreamCallTest, WritesHaveTheirOwnTimeouts) {
  build([](UpstreamConfig& u) {
    u.write_timeout = 8s;
    u.write_per_try_timeout = 5s;
  });
  (void)call("POST", "/payments");
  (void)call("GET", "/payments");
  ASSERT_EQ(transport_.sent.size(), 2u);
  EXPECT_EQ(transport_.sent[0].timeout, 5s);
  EXPECT_EQ(transport_.sent[0].fields["X-Medgate-Timeout-Ms"], "5000");
  EXPECT_EQ(transport_.sent[1].timeout, 1s);
}

TEST_F(UpstreamCallTest, AnUnkeyedWriteThatWentUnansweredIsUnknownAndNotRetried) {
  build();
  transport_.script(0, {.error = SendError::timeout, .latency = 1s});
  const auto r = call("POST", "/consultations");
  EXPECT_EQ(r.reply.response.status, 504u);
  EXPECT_THAT(r.reply.response.body, HasSubstr("\"error\":\"outcome_unknown\""));
  EXPECT_THAT(r.reply.response.body, HasSubstr("\"outcome\":\"unknown\""));
  EXPECT_THAT(r.reply.response.body, Not(HasSubstr("idempotency_key")));
  EXPECT_EQ(transport_.sent.size(), 1u) << "sending it again could apply it twice";
  EXPECT_THAT(metrics_->render(*set_),
              HasSubstr("medgate_upstream_unknown_outcomes_total{upstream=\"svc\"} 1"));
}

TEST_F(UpstreamCallTest, ARefusedConnectionMeansAWriteDidNotHappen) {
  build();
  transport_.script(0, {.error = SendError::connect_failed});
  transport_.script(1, {.error = SendError::connect_failed});
  transport_.script(0, {.error = SendError::connect_failed});
  const auto r = call("POST", "/consultations");
  EXPECT_EQ(r.reply.response.status, 503u);
  EXPECT_THAT(r.reply.response.body, HasSubstr("\"error\":\"upstream_unavailable\""));
  EXPECT_EQ(transport_.sent.size(), 3u) << "nothing was sent, so trying again is safe";
}

TEST_F(UpstreamCallTest, AKeyedWriteIsRetriedUntilAnEndpointAnswers) {
  build();
  transport_.script(0, {.error = SendError::reset});
  transport_.script(1, {.status = 201, .body = "{\"id\":7}"});
  const auto r = call("POST", "/consultations", {{"Idempotency-Key", "k-1"}});
  EXPECT_EQ(r.reply.response.status, 201u);
  EXPECT_EQ(r.reply.attempts, 2u);
  EXPECT_TRUE(transport_.sent[1].resend_on_stale);
}

TEST_F(UpstreamCallTest, AKeyedWriteUnansweredEverywhereIsUnknownAndNamesItsKey) {
  build();
  for (int i = 0; i < 2; ++i) {
    transport_.script(0, {.error = SendError::timeout, .latency = 300ms});
    transport_.script(1, {.error = SendError::timeout, .latency = 300ms});
  }
  const auto r = call("POST", "/payments", {{"Idempotency-Key", "pay-42"}});
  EXPECT_EQ(r.reply.response.status, 504u);
  EXPECT_THAT(r.reply.response.body, HasSubstr("\"idempotency_key\":\"pay-42\""));
  EXPECT_THAT(r.reply.response.body, HasSubstr("same Idempotency-Key"));
}

TEST_F(UpstreamCallTest, AnEarlierUnansweredTryMakesALaterFailureUnknown) {
  build();
  transport_.script(0, {.error = SendError::timeout, .latency = 200ms});
  transport_.script(1, {.status = 503});
  transport_.script(0, {.status = 503});
  const auto r = call("POST", "/payments", {{"Idempotency-Key", "pay-43"}});
  EXPECT_EQ(r.reply.response.status, 504u) << r.reply.response.body;
  EXPECT_THAT(r.reply.response.body, HasSubstr("\"outcome\":\"unknown\""));
}

TEST_F(UpstreamCallTest, AnOpenBreakerSaysHowLongItStaysOpen) {
  build([](UpstreamConfig& u) {
    u.breaker.consecutive_failures = 2;
    u.breaker.open_for = 10s;
    u.retry.attempts = 1;
  });
  transport_.script(0, {.status = 500});
  transport_.script(0, {.status = 500});
  (void)call("GET", "/x");
  (void)call("GET", "/x");
  ASSERT_EQ(up().breaker.state(), resilience::BreakerState::open);
  clock_.advance(3500ms);
  const auto r = call("GET", "/x");
  EXPECT_EQ(r.reply.response.status, 503u);
  EXPECT_EQ(r.header("Retry-After"), "7");  // 6.5 s left, rounded up
  EXPECT_THAT(r.reply.response.body, HasSubstr("\"retry_after_seconds\":7"));
  EXPECT_THAT(r.reply.response.body, HasSubstr("\"reason\":\"circuit breaker open\""));
  EXPECT_EQ(transport_.sent.size(), 2u);
}

TEST_F(UpstreamCallTest, ARateLimitedCallIs429WithTheBucketsOwnWait) {
  build([](UpstreamConfig& u) {
    u.rate_limit = 0.25;  // one call per 4 s
    u.rate_burst = 1;
  });
  EXPECT_EQ(call("GET", "/x").reply.response.status, 200u);
  clock_.advance(1s);
  const auto r = call("GET", "/x");
  EXPECT_EQ(r.reply.response.status, 429u);
  EXPECT_THAT(r.reply.response.body, HasSubstr("\"error\":\"rate_limited\""));
  EXPECT_EQ(r.header("Retry-After"), "3");
  EXPECT_THAT(r.reply.response.body, HasSubstr("\"breaker\":\"closed\""));
}

TEST_F(UpstreamCallTest, StaleCopiesAreServedMarkedButNeverOfAnswersMarkedNoStoreOrPrivate) {
  build([](UpstreamConfig& u) {
    u.stale.max_age = 5min;
    u.retry.attempts = 1;
  });
  transport_.script(0, {.body = "a"});
  transport_.script(0, {.body = "b", .fields = {{"Cache-Control", "no-store"}}});
  transport_.script(0, {.body = "c", .fields = {{"Cache-Control", "private, max-age=0"}}});
  // The targeted field speaks for medgate and overrides Cache-Control.
  transport_.script(0, {.body = "d",
                        .fields = {{"Cache-Control", "no-store"},
                                   {"Medgate-Cache-Control", "no-cache, stale-if-error=60"}}});
  for (const char* t : {"/a", "/b", "/c", "/d"})
    ASSERT_EQ(call("GET", t).reply.response.status, 200u);
  for (int i = 0; i < 4; ++i)
    transport_.script(0, {.error = SendError::connect_failed});
  clock_.advance(30s);
  const auto a = call("GET", "/a");
  EXPECT_EQ(a.reply.response.body, "a");
  EXPECT_EQ(a.header("X-Medgate-Stale"), "true");
  EXPECT_EQ(a.header("Age"), "30");
  EXPECT_TRUE(a.reply.stale);
  EXPECT_EQ(call("GET", "/b").reply.response.status, 503u);
  EXPECT_EQ(call("GET", "/c").reply.response.status, 503u);
  EXPECT_EQ(call("GET", "/d").reply.response.body, "d");
  clock_.advance(31s);  // /d's stale-if-error=60 is over, /a's 5 min is not
  transport_.script(0, {.error = SendError::connect_failed});
  transport_.script(0, {.error = SendError::connect_failed});
  EXPECT_EQ(call("GET", "/d").reply.response.status, 503u);
  EXPECT_EQ(call("GET", "/a").reply.response.body, "a");
}

TEST_F(UpstreamCallTest, RequestsWithCredentialsGetNoStaleCopies) {
  build([](UpstreamConfig& u) {
    u.stale.max_age = 5min;
    u.retry.attempts = 1;
  });
  transport_.script(0, {.body = "mine"});
  ASSERT_EQ(call("GET", "/me", {{"Authorization", "Bearer a"}}).reply.response.status, 200u);
  transport_.script(0, {.error = SendError::connect_failed});
  EXPECT_EQ(call("GET", "/me", {{"Authorization", "Bearer b"}}).reply.response.status, 503u)
      << "another caller's answer is never served from the store";
  transport_.script(0, {.error = SendError::connect_failed});
  EXPECT_EQ(call("GET", "/me").reply.response.status, 503u) << "nor stored for anyone";
}

TEST(StaleStore, IsBoundedInBytesAndDropsTheOldestFirst) {
  FakeClock clock;
  StaleStore store({.max_age = 1h, .max_entries = 100, .max_bytes = 4096});
  clients::WireResponse res;
  res.body.assign(1000, 'x');
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(store.put("/k" + std::to_string(i), res, clock.now()));
    clock.advance(1s);
    EXPECT_LE(store.bytes(), 4096u);
  }
  EXPECT_EQ(store.entries(), 3u);
  EXPECT_FALSE(store.get("/k0", clock.now()));
  EXPECT_TRUE(store.get("/k9", clock.now()));
  res.body.assign(5000, 'y');
  EXPECT_FALSE(store.put("/huge", res, clock.now())) << "larger than the whole store";
}

TEST_F(UpstreamCallTest, TheLastRoutableEndpointIsEjectedNoLongerThanTheBreakerIsOpen) {
  build([](UpstreamConfig& u) {
    u.outlier = {.consecutive_failures = 2,
                 .base_ejection = 30s,
                 .max_ejection = 300s,
                 .max_ejection_percent = 100};
    u.breaker.open_for = 5s;
    u.retry.attempts = 1;
  });
  auto fail_on = [&](size_t ep) {
    transport_.script(ep, {.status = 500});
    transport_.script(ep, {.status = 500});
  };
  fail_on(0);
  (void)call("GET", "/x");
  (void)call("GET", "/x");
  ASSERT_TRUE(up().endpoint(0).outlier.ejected());
  EXPECT_EQ(up().endpoint(0).outlier.snapshot().ejected_until - clock_.now(), 30s);
  fail_on(1);
  (void)call("GET", "/x");
  (void)call("GET", "/x");
  ASSERT_TRUE(up().endpoint(1).outlier.ejected());
  EXPECT_EQ(up().endpoint(1).outlier.snapshot().ejected_until - clock_.now(), 5s)
      << "the only routable endpoint left: capped at the breaker's open period";
  const auto r = call("GET", "/x");
  EXPECT_EQ(r.reply.response.status, 503u);
  EXPECT_THAT(r.reply.response.body, HasSubstr("no routable endpoint"));
  EXPECT_EQ(r.header("Retry-After"), "5") << "when the first endpoint can come back";
  clock_.advance(5s);
  EXPECT_EQ(call("GET", "/x").reply.response.status, 200u);
}

// The layers agree. The sequence an operator saw: failures open the upstream's breaker (and
// the endpoints'), its half-open probes fail slowly, then the upstream recovers fully.
// Called every 50 ms after that, the first probe round closes every layer and every later
// call is served; no refusal medgate made itself is counted as the upstream's failure.
class BreakerLayers : public UpstreamCallTest, public ::testing::WithParamInterface<size_t> {
 protected:
  void SetUp() override {
    const size_t endpoints = GetParam();
    build([endpoints](UpstreamConfig& u) {
      u.endpoints.resize(endpoints);
      u.breaker = {.consecutive_failures = 0,
                   .failure_rate_threshold = 0.5,
                   .window_size = 10,
                   .min_calls = 10,
                   .open_for = 2s,
                   .half_open_calls = 3};
      // The endpoints' breakers count the same failures and stay open longer: left alone,
      // the upstream's probes would find no routable endpoint, count that as a failed probe
      // and re-open, and the two layers would take turns refusing a healthy upstream.
      u.endpoint_breaker = u.breaker;
      u.endpoint_breaker.min_calls = 5;
      u.endpoint_breaker.window_size = 5;
      u.endpoint_breaker.open_for = 5s;
      u.retry.attempts = 1;
    });
  }
  // Every endpoint answers 500 (after `latency`) until recovered().
  void failing(resilience::Duration latency = {}) {
    transport_.answer_otherwise(FakeTransport::Answer{.status = 500, .latency = latency});
  }
  void recovered() { transport_.answer_otherwise(std::nullopt); }
  [[nodiscard]] bool every_layer_closed() {
    bool closed = up().breaker.state() == resilience::BreakerState::closed;
    for (size_t i = 0; i < up().size(); ++i)
      closed = closed && up().routability(i) == Routability::routable;
    return closed;
  }
};

TEST_P(BreakerLayers, ARecoveredUpstreamIsServedAfterOneProbeRound) {
  failing();
  for (int i = 0; i < 12; ++i) {
    (void)call("GET", "/x");
    clock_.advance(50ms);
  }
  ASSERT_EQ(up().breaker.state(), resilience::BreakerState::open);
  // Half-open: the probes fail, slowly.
  clock_.advance(2s);
  failing(500ms);
  for (int i = 0; i < 3; ++i)
    (void)call("GET", "/x");
  ASSERT_EQ(up().breaker.state(), resilience::BreakerState::open);
  recovered();
  const uint64_t refused_before = up().breaker.snapshot().not_permitted;
  // Recovered (the transport answers 200 from now on): every 50 ms for 5 s.
  const size_t sent_before = transport_.sent.size();
  int refused = 0;
  int served_after_close = 0;
  int refused_after_close = 0;
  bool closed_seen = false;
  for (int i = 0; i < 100; ++i) {
    const auto r = call("GET", "/x");
    const bool ok = r.reply.response.status == 200;
    refused += ok ? 0 : 1;
    if (closed_seen) {
      served_after_close += ok ? 1 : 0;
      refused_after_close += ok ? 0 : 1;
    }
    closed_seen = closed_seen || up().breaker.state() == resilience::BreakerState::closed;
    clock_.advance(50ms);
  }
  EXPECT_TRUE(every_layer_closed());
  EXPECT_EQ(refused_after_close, 0) << "refusals after the first probe round";
  EXPECT_GT(served_after_close, 50);
  // Only the upstream's own open period was waited out: at most 2 s of refusals (41 calls at
  // 50 ms), never a second period.
  EXPECT_LE(refused, 41);
  // The first probe round was three calls that reached the upstream, all answered 200.
  EXPECT_EQ(transport_.sent.size() - sent_before, static_cast<size_t>(100 - refused));
  EXPECT_EQ(up().breaker.snapshot().trips, 0u) << "closed by a full recovery";
  EXPECT_GE(up().breaker.snapshot().not_permitted, refused_before);
}

INSTANTIATE_TEST_SUITE_P(OneAndTwoEndpoints, BreakerLayers, ::testing::Values(1, 2),
                         [](const auto& info) {
                           return info.param == 1 ? std::string("OneEndpoint")
                                                  : std::string("TwoEndpoints");
                         });

// A refusal medgate makes itself (no endpoint routable: here a failing health check) reaches
// no upstream and is not the upstream's failure: its half-open breaker keeps its probes.
TEST_F(UpstreamCallTest, ALocalRefusalIsNoFailedProbe) {
  build([](UpstreamConfig& u) {
    u.breaker.consecutive_failures = 2;
    u.breaker.open_for = 1s;
    u.breaker.half_open_calls = 1;
    u.retry.attempts = 1;
  });
  transport_.answer_otherwise(FakeTransport::Answer{.status = 500});
  (void)call("GET", "/x");
  (void)call("GET", "/x");
  ASSERT_EQ(up().breaker.state(), resilience::BreakerState::open);
  transport_.answer_otherwise(std::nullopt);
  clock_.advance(1s);
  for (size_t i = 0; i < up().size(); ++i)
    up().endpoint(i).health_ok = false;
  const auto refused = call("GET", "/x");
  EXPECT_EQ(refused.reply.response.status, 503u);
  EXPECT_THAT(refused.reply.response.body, HasSubstr("no routable endpoint"));
  EXPECT_EQ(up().breaker.state(), resilience::BreakerState::half_open)
      << "a local refusal must not re-open the upstream's breaker";
  for (size_t i = 0; i < up().size(); ++i)
    up().endpoint(i).health_ok = true;
  EXPECT_EQ(call("GET", "/x").reply.response.status, 200u);
  EXPECT_EQ(up().breaker.state(), resilience::BreakerState::closed);
}

// Every endpoint failing its health checks: the upstream is down as far as medgate can tell,
// and its closed breaker opens on those refusals (so /health, Retry-After and dashboards say
// so); once its checks pass again, one probe closes it.
TEST_F(UpstreamCallTest, WithNoEndpointRoutableAClosedBreakerOpens) {
  build([](UpstreamConfig& u) {
    u.breaker.consecutive_failures = 3;
    u.breaker.open_for = 1s;
    u.breaker.half_open_calls = 1;
  });
  for (size_t i = 0; i < up().size(); ++i)
    up().endpoint(i).health_ok = false;
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(call("GET", "/x").reply.response.status, 503u);
  EXPECT_EQ(up().breaker.state(), resilience::BreakerState::open);
  EXPECT_TRUE(transport_.sent.empty());
  for (size_t i = 0; i < up().size(); ++i)
    up().endpoint(i).health_ok = true;
  clock_.advance(1s);
  EXPECT_EQ(call("GET", "/x").reply.response.status, 200u);
  EXPECT_EQ(up().breaker.state(), resilience::BreakerState::closed);
}

TEST_F(UpstreamCallTest, ABusyBulkheadRefusesAtOnce) {
  build([](UpstreamConfig& u) { u.max_concurrent = 1; });
  auto held = up().bulkhead.try_acquire();
  const auto r = call("GET", "/x");
  EXPECT_EQ(r.reply.response.status, 503u);
  EXPECT_THAT(r.reply.response.body, HasSubstr("too many concurrent requests"));
  EXPECT_TRUE(transport_.sent.empty());
}

}  // namespace
}  // namespace medgate::gateway
