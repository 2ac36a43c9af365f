#include "apps/medgate-drill/drill_runner.hpp"

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include <boost/json.hpp>

#include "apps/medgate-drill/log_scan.hpp"
#include "apps/medgate-drill/probes.hpp"
#include "apps/medgate-drill/read_back.hpp"
#include "clients/curl_client.hpp"

namespace medgate::drill {
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// A scenario: what it breaks, how it mends it, and what it is judged on.
struct Plan {
  std::string cluster;  // the database cluster or upstream it faults
  std::string watch;    // cluster checked for two writable primaries
  std::string target;   // what was faulted, for the report
  Checks checks;
  Expectations expect;
  std::function<void()> inject;
  std::function<void()> hold;   // runs after inject; returns when the fault should end
  std::function<void()> clear;  // may be empty
  std::string clear_detail;
  std::function<void()> after_clear;  // waits for what the scenario expects to follow
  // The fault begins when inject() returns (a hang: once the server is frozen), not when it
  // is called (a stop: the stop itself is part of the outage).
  bool mark_after_inject = false;
};

std::string primary_of(const ClusterLayout& c) {
  const auto r = clients::curl_perform({.url = c.monitor_url + "/primary"});
  boost::system::error_code ec;
  const auto v = json::parse(r.body, ec);
  if (ec || r.status != 200)
    return {};
  const auto* p = v.as_object().if_contains("primary");
  return p ? std::string(p->as_object().at("name").as_string()) : std::string();
}

void sleep_for(milliseconds d) {
  std::this_thread::sleep_for(d);
}

std::string run_id() {
  const auto ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  return "drill-" + std::to_string(ms);
}

const char* kDbScenarios[][2] = {{"mariadb-primary-down", "medical"},
                                 {"postgres-primary-down", "administrative"},
                                 {"mysql-primary-down", "portal"}};

}  // namespace

const std::vector<std::pair<std::string, std::string>>& scenario_catalogue() {
  static const std::vector<std::pair<std::string, std::string>> list{
      {"app1-primary-down", "stop medical instance 1: history keeps working through instance 2"},
      {"app1-all-down",
       "stop both medical instances: the medical breaker opens, answers are fast 503s or "
       "stale copies, the other routes are unaffected; the breaker closes after the restart"},
      {"mariadb-primary-down", "fault the medical MariaDB primary (--variant stop|kill|hang)"},
      {"postgres-primary-down", "fault the administrative PostgreSQL primary (--variant ...)"},
      {"mysql-primary-down", "fault the portal's MySQL-role primary (--variant ...)"},
      {"old-primary-returns",
       "stop a primary (--cluster), let its monitor promote, start it again: it must come back "
       "fenced and rejoin as a replica, never taking writes"},
      {"gateway-restart", "restart medgate under load (a hand-over: SIGHUP to its launcher)"},
      {"second-fault",
       "stop a primary (--cluster), let its monitor promote, start it again until it streams "
       "as a replica; --gap (60 s) after the first fault, hang the new primary for --hold: it "
       "must fail over again (the second fault is the one measured; not part of all)"},
  };
  return list;
}

DrillRunner::DrillRunner(StackLayout layout, StackControl& control, DrillOptions options)
    : layout_(std::move(layout)), control_(control), opt_(std::move(options)) {}

// The first fault of second-fault, without load: a clean stop of the primary, its promotion,
// the old primary started again until it streams as a replica; then the wait until `gap`
// after the stop, when the measured fault (a hang of the new primary) begins.
void DrillRunner::first_fault(const ClusterLayout& c) {
  const std::string token = layout_.credential("MEDGATE_MONITOR_TOKEN");
  (void)clients::curl_perform({.method = "POST",
                               .url = c.monitor_url + "/ack",
                               .headers = {{"Authorization", "Bearer " + token}}});
  const std::string first = primary_of(c);
  if (first.empty())
    throw ControlError(c.monitor + " names no primary that takes writes: is the stack up?");
  const auto stopped = Clock::now();
  control_.stop(first);
  std::string promoted;
  while (Clock::now() - stopped < opt_.promote_timeout) {
    promoted = primary_of(c);
    if (!promoted.empty() && promoted != first)
      break;
    sleep_for(milliseconds(50));
  }
  if (promoted.empty() || promoted == first)
    throw ControlError("first fault: " + c.monitor + " promoted nothing after stopping " + first);
  const auto promoted_after = Clock::now() - stopped;
  control_.start(first);
  const auto rejoin_until = Clock::now() + milliseconds(opt_.targets.rejoin_ms + 5000);
  for (;;) {
    if (clients::curl_perform({.url = c.monitor_url + "/replica/" + first}).status == 200)
      break;
    if (Clock::now() > rejoin_until)
      throw ControlError("first fault: " + first + " did not rejoin as a replica");
    sleep_for(milliseconds(100));
  }
  const auto rejoined_after = Clock::now() - stopped;
  auto secs = [](Clock::duration d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f s", std::chrono::duration<double>(d).count());
    return std::string(buf);
  };
  first_fault_note_ = "first fault: stop of " + control_.name(first) + ", " + promoted +
                      " promoted " + secs(promoted_after) + " later, " + first +
                      " streaming again as a replica at " + secs(rejoined_after) +
                      "; the measured fault began " + secs(opt_.gap) + " after the stop";
  while (Clock::now() - stopped < opt_.gap)
    sleep_for(milliseconds(100));
}

Report DrillRunner::run(const std::string& scenario) {
  // Two monitors per cluster on etcd: the acting one's events tell this drill's failover,
  // and only it takes commands.
  follow_acting_monitors(layout_);
  const auto origin = Clock::now();
  Plan plan;
  Ms cleared_at = 0;  // when the mending started
  Report report;
  report.targets = opt_.targets;
  DrillRecord& rec = report.record;
  rec.scenario = scenario;
  rec.started_wall_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  std::unique_ptr<Probes> probes_holder;
  auto probes = [&]() -> Probes& { return *probes_holder; };

  const auto& medical = layout_.medical_instances;
  if (scenario == "app1-primary-down") {
    plan.cluster = "medical";
    plan.target = control_.name(medical[0]);
    plan.checks = {.detection = true, .no_failures_of_op = true, .fail_free_op = "history"};
    plan.inject = [&] { control_.stop(medical[0]); };
    plan.hold = [&] { sleep_for(opt_.hold); };
    plan.clear = [&] { control_.start(medical[0]); };
    plan.clear_detail = "started " + plan.target;
  } else if (scenario == "app1-all-down") {
    plan.cluster = "medical";
    plan.target = control_.name(medical[0]) + " and " + control_.name(medical[1]);
    plan.checks = {.detection = true,
                   .breaker_opens = true,
                   .breaker_closes = true,
                   .p99 = true,
                   .unaffected_upstreams = {"administrative"},
                   .explicit_failures = true};
    plan.expect.recovery_from_clear = true;
    plan.inject = [&] {
      control_.stop(medical[0]);
      control_.stop(medical[1]);
    };
    plan.hold = [&] { sleep_for(opt_.hold); };
    plan.clear = [&] {
      control_.start(medical[0]);
      control_.start(medical[1]);
    };
    plan.clear_detail = "started " + plan.target;
    plan.after_clear = [&] {
      (void)probes().wait_event(kind::breaker_closed, cleared_at, milliseconds(30000));
    };
  } else if (scenario == "gateway-restart") {
    plan.cluster = "medgate";
    plan.target = control_.name(layout_.medgate_program);
    plan.checks = {.log = false, .no_failures = true};
    // A restart is a hand-over: the launcher keeps the socket, a new medgate serves first.
    plan.inject = [&] { control_.handover(layout_.medgate_program); };
    plan.hold = [&] { sleep_for(std::chrono::seconds(2)); };  // the old one drains meanwhile
    plan.clear_detail = "the new medgate serves, the old one has drained";
  } else {
    std::string cluster;
    for (const auto& [name, c] : kDbScenarios)
      if (scenario == name)
        cluster = c;
    const bool returns = scenario == "old-primary-returns";
    const bool second = scenario == "second-fault";
    if (returns || second)
      cluster = opt_.cluster;
    if (cluster.empty())
      throw std::invalid_argument("unknown scenario '" + scenario + "'");
    if (second)
      first_fault(layout_.cluster(cluster));
    const std::string variant = returns ? "stop" : second ? "hang" : opt_.variant;
    if (variant != "stop" && variant != "kill" && variant != "hang")
      throw std::invalid_argument("unknown variant '" + variant + "' (stop, kill, hang)");
    rec.variant = variant;
    const ClusterLayout& c = layout_.cluster(cluster);
    const std::string old = primary_of(c);
    if (old.empty())
      throw ControlError(c.monitor + " names no primary that takes writes: is the stack up?");
    plan.cluster = cluster;
    plan.watch = cluster;
    plan.target = variant + " of " + control_.name(old) + " (" + cluster + " primary)";
    // A hang shorter than detection plus promotion should end without a failover; so may a
    // kill -9 under supervisord, which restarts the server within about a second (the
    // primary may stay primary): either way the writes are judged.
    const bool expect_failover =
        variant == "stop" ||
        (variant == "hang" && opt_.hold >= milliseconds(opt_.targets.detect_ms + 2000));
    plan.checks = {.detection = expect_failover,
                   .promotion = expect_failover,
                   .writes = true,
                   .rejoin = returns};
    plan.expect.write_upstream = cluster;
    // Before the fault: clear the flap guard's count of earlier drills' failovers, as an
    // operator would.
    const std::string token = layout_.credential("MEDGATE_MONITOR_TOKEN");
    (void)clients::curl_perform({.method = "POST",
                                 .url = c.monitor_url + "/ack",
                                 .headers = {{"Authorization", "Bearer " + token}}});
    if (variant == "stop") {
      plan.inject = [&, old] { control_.stop(old); };
      plan.hold = [&] {
        (void)probes().wait_event(kind::promoted, 0, opt_.promote_timeout);
        sleep_for(opt_.after);  // writes go on against the new primary
      };
      plan.clear = [&, old] { control_.start(old); };
      plan.clear_detail = "started " + control_.name(old) + " again";
      if (returns)
        plan.after_clear = [&] {
          (void)probes().wait_event(kind::rejoined, cleared_at,
                                    milliseconds(opt_.targets.rejoin_ms + 5000));
        };
    } else if (variant == "kill") {
      plan.inject = [&, old] { control_.kill9(old); };
      // Until a promotion, or the stack is steady again (the server restarted in place).
      plan.hold = [&] {
        const auto until = Clock::now() + opt_.promote_timeout;
        const Ms from = probes().now();
        while (Clock::now() < until && !probes().wait_event(kind::promoted, 0, milliseconds(200)) &&
               !(probes().now() - from > 2000 && probes().steady()))
          ;
      };
      plan.clear_detail = "supervisord restarts the killed server by itself";
    } else {
      plan.inject = [&, old] { control_.pause(old); };
      plan.mark_after_inject = true;
      plan.hold = [&] { sleep_for(opt_.hold); };
      plan.clear = [&, old] { control_.resume(old); };
      plan.clear_detail = "SIGCONT to " + control_.name(old);
    }
  }
  rec.target = plan.target;
  rec.cluster = plan.cluster;
  if (scenario == "second-fault")
    rec.notes.push_back(first_fault_note_);

  // Steady first: a drill on a system already broken measures nothing.
  probes_holder = std::make_unique<Probes>(layout_, origin, plan.watch);
  probes().start();
  if (!probes().wait_steady(opt_.steady_timeout)) {
    rec.notes.push_back("not steady before the fault (" + probes().why_unsteady() +
                        "): no fault injected");
    probes().stop();
    rec.events = probes().events();
    rec.end = probes().now();
    report.measurements = measure(rec, plan.expect);
    report.verdicts = judge(report.measurements, opt_.targets, plan.checks, false);
    return report;
  }
  std::vector<std::string> event_logs;
  if (!layout_.log_dir.empty())
    for (const auto& c : layout_.clusters)
      for (const char* file : {"/events.jsonl", "/events-2.jsonl"})  // each monitor's
        if (std::filesystem::exists(layout_.stack_dir + "/" + c.monitor + file))
          event_logs.push_back(layout_.stack_dir + "/" + c.monitor + file);
  LogScan logs(layout_.log_dir, event_logs);

  LoadOptions load = opt_.load;
  load.run_id = run_id();
  LoadGenerator gen(layout_, load, origin);
  if (auto err = gen.start(); !err.empty())
    throw ControlError(err);

  std::atomic<bool> done{false};
  std::string phase = "before";
  std::mutex phase_mu;
  std::thread progress_thread([&] {
    while (!done) {
      if (opt_.progress) {
        const auto p = gen.progress();
        std::string ph;
        {
          std::lock_guard lock(phase_mu);
          ph = phase;
        }
        char line[256];
        std::snprintf(line, sizeof line,
                      "[%s] %6.1f s  %-9s requests %zu (%zu failed)  writes %zu (%zu acked)  %s",
                      scenario.c_str(), static_cast<double>(probes().now()) / 1000.0, ph.c_str(),
                      p.requests, p.failed, p.writes, p.acked,
                      probes().steady() ? "steady" : "unsteady");
        opt_.progress(line);
      }
      std::this_thread::sleep_for(milliseconds(500));
    }
  });
  auto set_phase = [&](const char* p) {
    std::lock_guard lock(phase_mu);
    phase = p;
  };

  std::string failure;
  try {
    sleep_for(opt_.before);
    set_phase("fault");
    if (!plan.mark_after_inject)
      probes().mark(kind::fault, plan.target);
    plan.inject();
    if (plan.mark_after_inject)
      probes().mark(kind::fault, plan.target);
    plan.hold();
    // The fault ends when the mending starts: restarting is part of the recovery measured.
    cleared_at = probes().now();
    probes().mark(kind::fault_cleared, plan.clear_detail);
    if (plan.clear)
      plan.clear();
    set_phase("recovery");
    if (plan.after_clear)
      plan.after_clear();
    if (!probes().wait_steady(opt_.steady_timeout))
      rec.notes.push_back("not steady again within " +
                          std::to_string(opt_.steady_timeout.count() / 1000) +
                          " s: " + probes().why_unsteady());
    set_phase("after");
    sleep_for(opt_.after);
  } catch (const std::exception& e) {
    failure = e.what();
    rec.notes.push_back(std::string("the drill stopped early: ") + e.what());
  }
  set_phase("settling");
  gen.stop();
  probes().stop();
  done = true;
  progress_thread.join();

  rec.end = probes().now();
  rec.samples = gen.samples();
  rec.writes = gen.writes();
  rec.events = probes().events();
  rec.clocks = probes().clocks();
  // Log lines carry wall-clock times: put them on the drill's timeline with the offset
  // measured at the start (measure() refuses them if the clock stepped). The first line per
  // file after the fault.
  if (!rec.clocks.empty()) {
    const int64_t offset = rec.clocks.front().wall_ms - rec.clocks.front().steady;
    Ms fault_at = -1;
    for (const auto& e : rec.events)
      if (e.kind == kind::fault)
        fault_at = e.at;
    std::map<std::string, bool> seen;
    for (const auto& l : logs.failures_since_start()) {
      const Ms at = l.wall_ms - offset;
      if (fault_at < 0 || at < fault_at || seen[l.file])
        continue;
      seen[l.file] = true;
      rec.events.push_back({.at = at,
                            .source = "log:" + l.file,
                            .kind = kind::logged,
                            .detail = l.text.substr(0, 160),
                            .wall_clock = true});
    }
    std::stable_sort(rec.events.begin(), rec.events.end(),
                     [](const Event& a, const Event& b) { return a.at < b.at; });
  } else if (layout_.log_dir.empty()) {
    rec.notes.push_back("no log directory to scan (compose): the log latency is unknown");
  }
  const auto back = read_back(layout_, load.run_id);
  rec.read_back = back.rows;
  rec.read_back_error = back.error;

  report.measurements = measure(rec, plan.expect);
  bool closed_after_clear = false;
  if (report.measurements.cleared_at)
    for (const auto& e : rec.events)
      closed_after_clear = closed_after_clear || (e.kind == kind::breaker_closed &&
                                                  e.at >= *report.measurements.cleared_at &&
                                                  e.detail.starts_with(plan.cluster + ":"));
  report.verdicts = judge(report.measurements, opt_.targets, plan.checks, closed_after_clear);
  if (!failure.empty())
    report.verdicts.push_back({.name = "drill completed",
                               .unit = "",
                               .op = "==",
                               .target = 1,
                               .outcome = Outcome::fail,
                               .note = failure});
  return report;
}

}  // namespace medgate::drill
