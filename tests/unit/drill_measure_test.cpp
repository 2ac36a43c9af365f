// The drill runner's measuring and judging on recorded event streams: exact boundaries, a
// missed target, a lost write, a write applied twice, an unreadable database, a clock step.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "apps/medgate-drill/command.hpp"
#include "apps/medgate-drill/judge.hpp"
#include "apps/medgate-drill/log_scan.hpp"
#include "apps/medgate-drill/measure.hpp"
#include "apps/medgate-drill/report.hpp"
#include "apps/medgate-drill/stack_layout.hpp"

namespace medgate::drill {
namespace {

Sample ok(Ms at, double ms = 20, std::string upstream = "administrative", std::string op = "pay") {
  return {.at = at, .latency_ms = ms, .op = op, .upstream = upstream, .status = 201, .ok = true};
}
Sample failed(Ms at, int status = 503, double ms = 5, std::string upstream = "administrative",
              std::string op = "pay") {
  return {
      .at = at, .latency_ms = ms, .op = op, .upstream = upstream, .status = status, .ok = false};
}
WriteRecord write(std::string key, Ms sent, std::optional<Ms> acked, int tries = 1,
                  bool unknown = false) {
  return {.key = std::move(key),
          .op = "pay",
          .upstream = "administrative",
          .first_sent = sent,
          .acked_at = acked,
          .tries = tries,
          .unknown_seen = unknown};
}

// A PostgreSQL primary stopped at t = 10 s: detected at 11.4 s, promoted at 11.5 s; writes
// every 100 ms stop at 10 s and resume at 12.5 s.
DrillRecord db_drill() {
  DrillRecord r;
  r.scenario = "postgres-primary-down";
  r.variant = "stop";
  r.end = 20000;
  r.clocks = {{0, 1'800'000'000'000}, {10000, 1'800'000'010'000}, {20000, 1'800'000'020'000}};
  r.events = {{.at = 10000, .source = "drill", .kind = kind::fault},
              {.at = 10300, .source = "log:admin-1", .kind = kind::logged, .wall_clock = true},
              {.at = 11400, .source = "postgres-monitor", .kind = kind::detected},
              {.at = 11500, .source = "postgres-monitor", .kind = kind::promoted},
              {.at = 14000, .source = "drill", .kind = kind::fault_cleared},
              {.at = 15000, .source = "probe", .kind = kind::steady}};
  int n = 0;
  for (Ms t = 0; t < 20000; t += 100) {
    if (t >= 10000 && t < 12500)
      continue;  // the writers wait for the new primary
    // Appended: "k" + std::to_string(...) trips GCC 12's false -Wrestrict at -O3 (bug 105329).
    std::string key = "k";
    key += std::to_string(++n);
    r.writes.push_back(write(key, t, t + 20));
    r.samples.push_back(ok(t));
    r.read_back.push_back({.key = key, .copies = 1});
  }
  // One write was sent into the fault, answered 503 twice, then acknowledged at 12.5 s.
  r.writes.push_back(write("slow", 10000, 12500, 3, true));
  Sample unknown = failed(10000, 504, 5000);  // outcome unknown after 5 s
  unknown.unknown = true;
  r.samples.push_back(unknown);
  r.samples.push_back(failed(11200));
  r.samples.push_back(ok(11000, 300, "page", "page"));  // the portal's page, meanwhile
  r.read_back.push_back({.key = "slow", .copies = 1});
  return r;
}

const Checks kDbChecks{.detection = true, .promotion = true, .writes = true};
const Expectations kDbExpect{.write_upstream = "administrative"};

// A copy: callers pass judge()'s temporary.
Verdict find(const std::vector<Verdict>& vs, std::string_view name) {
  for (const auto& v : vs)
    if (v.name == name)
      return v;
  ADD_FAILURE() << "no verdict " << name;
  return Verdict{.name = "missing"};
}

// Writes acknowledged again: neither an acknowledgement just after the fault of a write sent
// before it, nor a lull in the offered load long after recovery, moves the figure.
TEST(DrillMeasure, WritesAgainIsTheFirstAcknowledgementOfAWriteSentIntoTheFault) {
  DrillRecord r = db_drill();
  r.writes.push_back(write("in-transit", 9990, 10010));
  r.writes.push_back(write("after", 13000, 13010));
  r.writes.push_back(write("after-a-lull", 20000, 20010));
  r.read_back.push_back({.key = "in-transit", .copies = 1});
  r.read_back.push_back({.key = "after", .copies = 1});
  r.read_back.push_back({.key = "after-a-lull", .copies = 1});
  EXPECT_EQ(measure(r, kDbExpect).writes_resumed_ms, 2500);
}

TEST(DrillMeasure, TimesFromTheFault) {
  const auto m = measure(db_drill(), kDbExpect);
  ASSERT_TRUE(m.fault_at);
  EXPECT_EQ(*m.fault_at, 10000);
  EXPECT_EQ(m.detect_ms, 1400);
  EXPECT_EQ(m.promoted_ms, 1500);
  EXPECT_EQ(m.promotion_after_detect_ms, 100);
  EXPECT_EQ(m.writes_resumed_ms, 2500);  // the first acknowledgement after the gap
  EXPECT_EQ(m.logged_ms, 300);
  // The last failure to end is the unknown outcome: sent at 10 s, answered 5 s later.
  EXPECT_EQ(m.recovery_ms, 5000);
  EXPECT_EQ(m.steady_ms, 5000);
  EXPECT_EQ(m.lost, 0u);
  EXPECT_EQ(m.twice, 0u);
  EXPECT_EQ(m.writes_retried, 1u);
  EXPECT_EQ(m.unknown_outcomes, 1u);
  EXPECT_EQ(m.unknown_resolved, 1u);
}

TEST(DrillMeasure, PhasesSplitAtTheFaultAndItsEnd) {
  const auto m = measure(db_drill(), kDbExpect);
  EXPECT_EQ(m.before.requests, 100u);  // 0..9.9 s
  EXPECT_EQ(m.before.failed, 0u);
  // During: 10 s to max(clear at 14 s, last failure end at 15 s (the 5 s unknown answer)).
  EXPECT_EQ(m.during_end, 15000);
  EXPECT_EQ(m.during.failed, 2u);
  EXPECT_EQ(*m.during.p99_ms, 5000.0);
  EXPECT_GT(m.after.requests, 0u);
  EXPECT_EQ(m.unexplained_failures, 0u);  // a 503 in 5 ms; an unknown outcome is said so
}

TEST(DrillJudge, EveryTargetMetPasses) {
  Targets t;
  const auto vs = judge(measure(db_drill(), kDbExpect), t, kDbChecks, false);
  for (const auto& v : vs)
    EXPECT_EQ(v.outcome, Outcome::pass) << v.name << " " << v.note;
  EXPECT_TRUE(all_passed(vs));
}

TEST(DrillJudge, SlowPortalAnswerDuringTheFaultMissesTheLatencyTarget) {
  auto r = db_drill();
  EXPECT_TRUE(all_passed(judge(measure(r, kDbExpect), Targets{}, kDbChecks, false)));
  r.samples.push_back(ok(12000, 1500, "portal", "book"));  // a booking waited 1.5 s
  const auto vs = judge(measure(r, kDbExpect), Targets{}, kDbChecks, false);
  EXPECT_EQ(find(vs, "portal p99 during the fault").outcome, Outcome::fail);
  EXPECT_FALSE(all_passed(vs));
}

TEST(DrillJudge, DetectionBoundaryIsInclusiveRecoveryStrict) {
  auto r = db_drill();
  r.events[2].at = 13000;  // detected exactly 3 s after the fault
  r.events[3].at = 13100;
  Targets t;
  t.p99_during_ms = 6000;
  t.recovery_ms = 5000;  // recovery must be strictly below
  auto vs = judge(measure(r, kDbExpect), t, kDbChecks, false);
  EXPECT_EQ(find(vs, "time to detect").outcome, Outcome::pass);
  EXPECT_EQ(find(vs, "recovery").outcome, Outcome::fail);
  r.events[2].at = 13001;
  vs = judge(measure(r, kDbExpect), t, kDbChecks, false);
  EXPECT_EQ(find(vs, "time to detect").outcome, Outcome::fail);
}

TEST(DrillJudge, MissedDetectionAndNoPromotion) {
  auto r = db_drill();
  r.events.erase(r.events.begin() + 2, r.events.begin() + 4);  // no detection, no promotion
  const auto vs = judge(measure(r, kDbExpect), Targets{}, kDbChecks, false);
  EXPECT_EQ(find(vs, "time to detect").outcome, Outcome::unknown);
  EXPECT_EQ(find(vs, "promotion after detection").outcome, Outcome::unknown);
  EXPECT_EQ(find(vs, "promotion after detection").note, "no promotion observed");
  EXPECT_FALSE(all_passed(vs));
}

TEST(DrillJudge, LostWriteFails) {
  auto r = db_drill();
  r.read_back.erase(r.read_back.begin() + 5);  // an acknowledged write is not on the primary
  const auto m = measure(r, kDbExpect);
  EXPECT_EQ(m.lost, 1u);
  const auto vs = judge(m, Targets{}, kDbChecks, false);
  EXPECT_EQ(find(vs, "acknowledged writes lost").outcome, Outcome::fail);
}

TEST(DrillJudge, UnacknowledgedWriteMissingIsNotLost) {
  auto r = db_drill();
  r.writes.push_back(write("never", 19000, std::nullopt, 5));  // settled by nothing
  const auto m = measure(r, kDbExpect);
  EXPECT_EQ(m.lost, 0u);
  EXPECT_EQ(m.writes_unresolved, 1u);
  EXPECT_EQ(find(judge(m, Targets{}, kDbChecks, false), "writes never resolved").outcome,
            Outcome::fail);
}

TEST(DrillJudge, WriteAppliedTwiceFails) {
  auto r = db_drill();
  r.read_back.back().copies = 2;  // "slow", retried with its key, is on the primary twice
  const auto m = measure(r, kDbExpect);
  EXPECT_EQ(m.twice, 1u);
  EXPECT_EQ(find(judge(m, Targets{}, kDbChecks, false), "writes applied twice").outcome,
            Outcome::fail);
}

TEST(DrillJudge, UnreadableDatabaseIsUnknownNotPass) {
  auto r = db_drill();
  r.read_back.clear();
  r.read_back_error = "administrative: no primary to read back from";
  const auto m = measure(r, kDbExpect);
  EXPECT_FALSE(m.lost);
  const auto v = find(judge(m, Targets{}, kDbChecks, false), "acknowledged writes lost");
  EXPECT_EQ(v.outcome, Outcome::unknown);
}

TEST(DrillJudge, TwoWritablePrimariesFail) {
  auto r = db_drill();
  r.events.push_back({.at = 14500, .source = "probe", .kind = kind::two_writable});
  EXPECT_EQ(
      find(judge(measure(r, kDbExpect), Targets{}, kDbChecks, false), "two writable primaries seen")
          .outcome,
      Outcome::fail);
}

TEST(DrillMeasure, ClockStepMakesWallClockTimesUnknownButNotTheRest) {
  auto r = db_drill();
  // The wall clock jumps back an hour at 12 s: steady-clock times are still good.
  r.clocks = {{0, 1'800'000'000'000}, {11900, 1'800'000'011'900}, {12000, 1'799'996'412'000}};
  const auto m = measure(r, kDbExpect);
  EXPECT_EQ(m.clock_step_ms, 3'600'000);
  EXPECT_FALSE(m.logged_ms);
  EXPECT_NE(m.logged_unknown.find("stepped"), std::string::npos);
  EXPECT_EQ(m.detect_ms, 1400);  // monitor events carry the monotonic clock
  const auto v = find(judge(m, Targets{}, kDbChecks, false), "failure logged");
  EXPECT_EQ(v.outcome, Outcome::unknown);
}

TEST(DrillMeasure, SmallClockDriftIsTolerated) {
  auto r = db_drill();
  r.clocks.back().wall_ms += kClockStepTolerance;
  EXPECT_EQ(measure(r, kDbExpect).logged_ms, 300);
}

TEST(DrillMeasure, RecoveryFromTheRestartWhenNothingCanRecoverBefore) {
  DrillRecord r;
  r.end = 30000;
  r.events = {
      {.at = 5000, .kind = kind::fault},
      {.at = 5400, .kind = kind::breaker_open, .detail = "medical: closed -> open"},
      {.at = 15000, .kind = kind::fault_cleared},
      {.at = 16500, .kind = kind::breaker_closed, .detail = "medical: half_open -> closed"}};
  for (Ms t = 0; t < 30000; t += 200)
    r.samples.push_back(t >= 5000 && t < 16400 ? failed(t, 503, 3, "medical", "history")
                                               : ok(t, 20, "medical", "history"));
  r.samples.push_back(ok(8000, 30, "administrative", "payments"));
  r.samples.push_back(ok(9000, 40, "page", "page"));
  const auto m = measure(r, {.recovery_from_clear = true});
  EXPECT_EQ(m.breaker_open_ms, 400);
  EXPECT_EQ(m.recovery_ms, 16203 - 15000);  // the last failure (16.2 s, 3 ms) after the restart
  const Checks c{.detection = true,
                 .breaker_opens = true,
                 .breaker_closes = true,
                 .log = false,
                 .unaffected_upstreams = {"administrative"},
                 .explicit_failures = true};
  const auto vs = judge(m, Targets{}, c, true);
  EXPECT_TRUE(all_passed(vs));
  EXPECT_EQ(find(vs, "administrative failures during the fault (unaffected)").measured, 0.0);
  EXPECT_EQ(find(judge(m, Targets{}, c, false), "breaker closed after the restart").outcome,
            Outcome::fail);
}

TEST(DrillMeasure, SlowFailuresAreNotExplicit) {
  DrillRecord r;
  r.events = {{.at = 1000, .kind = kind::fault}, {.at = 3000, .kind = kind::fault_cleared}};
  r.samples = {failed(1500, 503, 4), failed(1600, 503, 2500), failed(1700, 500, 4)};
  EXPECT_EQ(measure(r, {}).unexplained_failures, 2u);  // the slow 503 and the 500
}

TEST(DrillMeasure, NoFaultNoTimes) {
  DrillRecord r;
  r.samples = {ok(0), ok(100)};
  const auto m = measure(r, {});
  EXPECT_FALSE(m.fault_at);
  const auto vs = judge(m, Targets{}, kDbChecks, false);
  ASSERT_EQ(vs.size(), 1u);
  EXPECT_EQ(vs[0].outcome, Outcome::unknown);
  EXPECT_FALSE(all_passed(vs));
}

TEST(DrillMeasure, PercentileByNearestRank) {
  EXPECT_FALSE(percentile({}, 50));
  EXPECT_EQ(percentile({5}, 99), 5.0);
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i)
    v.push_back(i);
  EXPECT_EQ(percentile(v, 50), 50.0);
  EXPECT_EQ(percentile(v, 99), 99.0);
  EXPECT_EQ(percentile(v, 100), 100.0);
}

TEST(DrillTargets, ParsedWithUnitsAndRefusedWhenWrong) {
  Targets t;
  EXPECT_EQ(set_target(t, "detect=2s"), "");
  EXPECT_EQ(t.detect_ms, 2000);
  EXPECT_EQ(set_target(t, "p99=750ms"), "");
  EXPECT_EQ(t.p99_during_ms, 750);
  EXPECT_EQ(set_target(t, "recovery=1.5s"), "");
  EXPECT_EQ(t.recovery_ms, 1500);
  EXPECT_NE(set_target(t, "detect"), "");
  EXPECT_NE(set_target(t, "detect=soon"), "");
  EXPECT_NE(set_target(t, "detect=-1s"), "");
  EXPECT_NE(set_target(t, "latency=1s").find("unknown target"), std::string::npos);
}

TEST(DrillReport, JsonMarkdownAndHtmlSayTheSame) {
  auto r = db_drill();
  r.events.push_back({.at = 12000,
                      .source = "log:x",
                      .kind = kind::logged,
                      .detail = "</script><script>alert(1)</script>"});
  r.samples.push_back(ok(12000, 1500, "portal", "book"));  // misses the p99 target
  Report rep{.record = r, .measurements = measure(r, kDbExpect)};
  rep.verdicts = judge(rep.measurements, rep.targets, kDbChecks, false);
  const auto j = to_json(rep).as_object();
  EXPECT_FALSE(j.at("passed").as_bool());
  EXPECT_EQ(j.at("measurements").at("detect_ms").to_number<int64_t>(), 1400);
  EXPECT_EQ(j.at("measurements").at("writes").at("lost").to_number<int64_t>(), 0);
  EXPECT_EQ(j.at("timeline").as_array().size(), 21u);
  const std::string md = to_markdown(rep);
  EXPECT_NE(md.find("MISSED A TARGET"), std::string::npos);
  EXPECT_NE(md.find("| time to detect | 1.40 s | <= 3.00 s | pass |"), std::string::npos);
  const std::string html = to_html(rep);
  EXPECT_NE(html.find("uPlot"), std::string::npos);  // the chart library, inlined
  EXPECT_NE(html.find("id=drill-data"), std::string::npos);
  EXPECT_EQ(html.find("<script>alert(1)"), std::string::npos);  // event text cannot escape
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);        // nothing from elsewhere
}

TEST(DrillLogs, FailureLinesAndTheirTimes) {
  EXPECT_EQ(failure_line_time("2026-11-30T02:15:37.712+00:00 warning breaker medical: open"),
            1796004937712);
  EXPECT_EQ(failure_line_time("2026-11-30T03:15:37.712+01:00 error x"), 1796004937712);
  EXPECT_FALSE(failure_line_time("2026-11-30T02:15:37.712+00:00 info listening"));
  EXPECT_EQ(
      failure_line_time("2026-11-30T02:15:37.712+00:00 info {\"path\":\"/x\",\"status\":503}"),
      1796004937712);
  EXPECT_EQ(failure_line_time("{\"ts\":\"2026-11-30T02:15:37.712Z\",\"event\":\"suspect\"}"),
            1796004937712);
  EXPECT_FALSE(failure_line_time("{\"ts\":\"2026-11-30T02:15:37.712Z\",\"event\":\"sync_set\"}"));
  EXPECT_FALSE(failure_line_time("garbage warning"));
}

TEST(DrillCommand, OutputStatusAndABound) {
  const auto ok = run_command({"/bin/sh", "-c", "echo hi; exit 3"});
  EXPECT_EQ(ok.exit_code, 3);
  EXPECT_EQ(ok.output, "hi\n");
  const auto start = std::chrono::steady_clock::now();
  const auto hung = run_command({"/bin/sleep", "30"}, std::chrono::seconds(1));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(hung.exit_code, -1);
  EXPECT_NE(hung.output.find("killed"), std::string::npos);
  EXPECT_EQ(run_command({"/nonexistent/program"}).exit_code, -1);
}

TEST(DrillLayout, CredentialsFile) {
  const auto env = parse_env_file("# comment\nA=1\nB=\"two words\"\n\nC='x'\nbad line\n=v\n");
  EXPECT_EQ(env.size(), 3u);
  EXPECT_EQ(env.at("B"), "two words");
  EXPECT_EQ(env.at("C"), "x");
}

}  // namespace
}  // namespace medgate::drill
