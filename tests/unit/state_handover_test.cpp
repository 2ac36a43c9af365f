// medgate's state handed to its successor: what an upstream with unchanged settings keeps,
// what one with changed settings forgets, and a hostile or broken document changing nothing.
#include "gateway/state_handover.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/yaml_reader.hpp"
#include "gateway/gateway_config.hpp"
#include "gateway/metrics.hpp"
#include "tests/support/fake_clock.hpp"

namespace medgate::gateway {
namespace {

using namespace std::chrono_literals;
using resilience::BreakerState;
using resilience::CallResult;
using ::testing::ElementsAre;
using testing::FakeClock;
using ::testing::HasSubstr;

std::string yaml(const std::string& admin_open_for) {
  return "listen: { port: 8000 }\nauth: { enabled: false }\nupstreams:\n"
         "  medical:\n    endpoints: [ \"http://127.0.0.1:5001\", \"http://127.0.0.1:5002\" ]\n"
         "    breaker: { consecutive_failures: 2, failure_rate: 0, open_for: 10s }\n"
         "    endpoint_breaker: { consecutive_failures: 50, failure_rate: 0 }\n"
         "    outlier: { consecutive_failures: 1, base_ejection: 30s, max_ejection_percent: 50 }\n"
         "  administrative:\n    endpoints: [ \"http://127.0.0.1:3012\" ]\n"
         "    breaker: { consecutive_failures: 2, failure_rate: 0, open_for: " +
         admin_open_for + " }\n";
}

struct Instance {
  explicit Instance(const std::string& text, FakeClock& clock)
      : cfg(parse_gateway_config(config::Document::from_string(text, "medgate.yaml"))),
        metrics(cfg, {"unmatched"}),
        set(cfg, clock, metrics) {}
  Upstream& up(std::string_view name) { return *set.find(name); }
  GatewayConfig cfg;
  Metrics metrics;
  UpstreamSet set;
};

void fail(resilience::CircuitBreaker& b) {
  auto p = b.try_acquire();
  ASSERT_TRUE(p);
  p.record(CallResult::failure);
}

TEST(StateHandover, UnchangedUpstreamsKeepTheirStateAndChangedOnesStartAfresh) {
  FakeClock old_clock, new_clock;
  new_clock.advance(1000s);
  Instance before(yaml("10s"), old_clock);
  fail(before.up("medical").breaker);
  fail(before.up("medical").breaker);
  ASSERT_TRUE(before.up("medical").endpoint(1).outlier.record_failure());
  before.up("medical").endpoint(1).health_ok.store(false);
  fail(before.up("administrative").breaker);
  fail(before.up("administrative").breaker);
  old_clock.advance(3s);
  const std::string state = export_upstream_state(before.set);

  // The administrative upstream's settings changed (open_for), the medical one's did not,
  // though the file's layout did.
  std::string text = yaml("20s");
  text.replace(text.find("failure_rate: 0, open_for: 10s"), 30, "open_for: 10s, failure_rate: 0");
  Instance after(text, new_clock);
  const auto lines = import_upstream_state(after.set, state);
  EXPECT_THAT(lines, ElementsAre("upstream medical: state taken over (breaker open)",
                                 "upstream administrative: settings changed, starts afresh"));
  Upstream& med = after.up("medical");
  EXPECT_EQ(med.breaker.state(), BreakerState::open);
  EXPECT_EQ(*med.breaker.next_probe_at() - new_clock.now(), 7s);
  EXPECT_THAT(med.breaker.snapshot().recent.back().reason,
              HasSubstr("carried over from the previous medgate: 2 consecutive failures"));
  EXPECT_TRUE(med.endpoint(1).outlier.ejected());
  EXPECT_FALSE(med.endpoint(1).health_ok.load());
  EXPECT_FALSE(med.endpoint(0).outlier.ejected());
  EXPECT_EQ(after.up("administrative").breaker.state(), BreakerState::closed);
}

TEST(StateHandover, ABrokenOrHostileDocumentChangesNothing) {
  FakeClock clock;
  Instance after(yaml("10s"), clock);
  const auto refused = [&](const std::string& doc) {
    const auto lines = import_upstream_state(after.set, doc);
    EXPECT_EQ(after.up("medical").breaker.state(), BreakerState::closed) << doc;
    return lines.size() == 1 ? lines[0] : std::string("(several lines)");
  };
  EXPECT_THAT(refused("{"), HasSubstr("not JSON"));
  EXPECT_THAT(refused(R"({"version":2,"upstreams":[]})"), HasSubstr("version is not 1"));
  EXPECT_THAT(refused(std::string(2 << 20, ' ')), HasSubstr("larger than 1 MiB"));
  Instance before(yaml("10s"), clock);
  fail(before.up("medical").breaker);
  fail(before.up("medical").breaker);
  std::string good = export_upstream_state(before.set);
  std::string bad = good;
  bad.replace(bad.find("\"open_remaining_ms\":"), 20, "\"open_remaining_ms\":-");
  EXPECT_THAT(refused(bad), HasSubstr("out of range"));
  bad = good;
  bad.replace(bad.find("\"state\":\"open\""), 14, "\"state\":\"ajar\"");
  EXPECT_THAT(refused(bad), HasSubstr("unknown breaker state 'ajar'"));
  // Ages beyond ten years are refused; a long-running medgate's are not (a breaker forced
  // open 40 days ago keeps its place).
  bad = good;
  bad.replace(bad.find("\"open_elapsed_ms\":") + 18, 1, "999999999999999");
  EXPECT_THAT(refused(bad), HasSubstr("out of range"));
  Instance old_process(yaml("10s"), clock);
  old_process.up("medical").breaker.force_open("drill");
  clock.advance(std::chrono::hours(24 * 40));
  Instance successor(yaml("10s"), clock);
  (void)import_upstream_state(successor.set, export_upstream_state(old_process.set));
  EXPECT_EQ(successor.up("medical").breaker.state(), BreakerState::forced_open);
  // And the good one is taken.
  (void)import_upstream_state(after.set, good);
  EXPECT_EQ(after.up("medical").breaker.state(), BreakerState::open);
}

}  // namespace
}  // namespace medgate::gateway
