#include "db-monitors/monitor.hpp"

#include "db-monitors/fence.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <thread>

#include <boost/json.hpp>

#include "db-monitors/overloaded.hpp"

extern char** environ;

namespace medgate::dbmon {

namespace json = boost::json;

namespace {

int64_t ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// Runs `command` with /bin/sh, bounded by `timeout`; its exit status (-1: did not finish).
int run_shell(const std::string& command, Duration timeout) {
  pid_t pid = 0;
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
    return -1;
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0)
      return -1;
    if (std::chrono::steady_clock::now() >= until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

Monitor::Monitor(MonitorOptions options, std::shared_ptr<Engine> engine,
                 std::shared_ptr<db::DbDriver> driver, std::unique_ptr<TopologyStore> store,
                 EventLog& events, const resilience::Clock& clock)
    : options_(std::move(options)),
      engine_(std::move(engine)),
      store_(std::move(store)),
      events_(events),
      clock_(clock) {
  TopologyRecord record = store_->load().value_or(TopologyRecord{});
  std::vector<NodeSpec> specs;
  for (const auto& n : options_.nodes)
    specs.push_back(n.spec);
  auto known = [&](const std::string& name) {
    return std::any_of(specs.begin(), specs.end(),
                       [&](const NodeSpec& s) { return s.name == name; });
  };
  if (!record.primary.empty() && !known(record.primary))
    throw std::runtime_error("the stored topology names primary '" + record.primary +
                             "', which is not a configured node");
  core_ = std::make_unique<MonitorCore>(specs, options_.core, record, events_);
  for (const auto& n : options_.nodes) {
    db::DbNode dn = options_.login;
    dn.host = n.spec.host;
    dn.port = n.spec.port;
    workers_[n.spec.name] = std::make_unique<NodeWorker>(
        driver, dn,
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.connect_timeout));
  }
  events_.emit({"monitor_started",
                "",
                {{"engine", std::string(engine_->name())},
                 {"epoch", record.epoch},
                 {"primary", record.primary}}});
  refresh_snapshot();
}

Monitor::~Monitor() {
  stop();
}

void Monitor::start() {
  thread_ = std::thread([this] { loop(); });
}

void Monitor::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
  std::lock_guard lock(mu_);
  for (auto& c : commands_)
    c->done.set_value({.ok = false, .message = "the monitor is stopping"});
  commands_.clear();
}

const MonitorNode& Monitor::node(const std::string& name) const {
  for (const auto& n : options_.nodes)
    if (n.spec.name == name)
      return n;
  throw std::out_of_range("no node " + name);
}

int64_t Monitor::wall_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

template <typename T>
typename JobResult<T>::Value Monitor::await(std::future<JobResult<T>>& f, Duration timeout,
                                            const std::string& what) {
  if (f.wait_for(timeout) != std::future_status::ready)
    throw db::DbError(db::DbErrorKind::unavailable,
                      what + ": no answer within " + std::to_string(ms(timeout)) + " ms");
  JobResult<T> r = f.get();
  switch (r.failure) {
    case JobResult<T>::Failure::none:
      return std::move(*r.value);
    case JobResult<T>::Failure::db:
      throw db::DbError(r.kind, r.what, r.code);
    case JobResult<T>::Failure::refusal:
      throw EngineRefusal(r.what);
    case JobResult<T>::Failure::other:
      break;
  }
  throw std::runtime_error(r.what);
}

// ---- checks ------------------------------------------------------------------------------

std::map<std::string, NodeObservation> Monitor::check_all() {
  const auto deadline = std::chrono::steady_clock::now() + options_.check_timeout;
  std::map<std::string, NodeObservation> round;
  std::map<std::string, std::future<JobResult<NodeObservation>>*> waiting;
  for (const auto& n : options_.nodes) {
    const std::string& name = n.spec.name;
    auto& inflight = inflight_[name];
    if (inflight.valid() &&
        inflight.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      NodeObservation o;
      o.error = "the previous check has not answered yet";
      round[name] = o;
      continue;
    }
    inflight = worker(name).submit([engine = engine_, &clock = clock_](db::DbConnection& c) {
      NodeObservation o = engine->observe(c);
      o.at = clock.now();
      return o;
    });
    waiting[name] = &inflight;
  }
  for (auto& [name, future] : waiting) {
    NodeObservation o;
    if (future->wait_until(deadline) != std::future_status::ready) {
      o.error = "no answer within " + std::to_string(ms(options_.check_timeout)) + " ms";
      round[name] = o;
      continue;
    }
    JobResult<NodeObservation> r = future->get();
    using Failure = JobResult<NodeObservation>::Failure;
    if (r.failure == Failure::none) {
      o = std::move(*r.value);
    } else if (r.failure == Failure::db) {
      // Unreachable unless the error proves the server alive; an SQL error from a server
      // that answered (permissions, a missing view) is alive too.
      const db::DbError e(r.kind, r.what, r.code);
      o.reach = e.kind() == db::DbErrorKind::unavailable && !engine_->proves_alive(e)
                    ? Reach::failed
                    : Reach::refusing;
      o.error = r.what;
    } else {
      o.reach = Reach::refusing;
      o.error = r.what;
    }
    round[name] = o;
  }
  return round;
}

// ---- plans and actions --------------------------------------------------------------------

bool Monitor::publish(const TopologyRecord& next) {
  try {
    if (!store_->may_act()) {
      events_.emit({"publish_skipped", "", {{"reason", "this monitor may not act"}}});
      return false;
    }
    if (store_->compare_and_set(core_->record().epoch, next)) {
      core_->committed(next);
      events_.emit({"topology_published",
                    next.primary,
                    {{"epoch", next.epoch},
                     {"primary", next.primary},
                     {"replication_mode", to_string(next.mode)},
                     {"mode_reason", next.mode_reason}}});
      return true;
    }
    if (auto stored = store_->load())
      core_->adopt(*stored);
  } catch (const std::exception& e) {
    events_.emit({"store_error", "", {{"error", e.what()}}});
  }
  return false;
}

bool Monitor::still_acting(const std::string& before) {
  if (store_->may_act())
    return true;
  events_.emit({"action_skipped", "", {{"action", before}, {"reason", store_->why_not_acting()}}});
  return false;
}

void Monitor::execute(Plan plan) {
  if (plan.publish && !publish(*plan.publish))
    return;
  for (const auto& action : plan.actions) {
    // Leadership is checked after every blocking step, right before the next action.
    if (!still_acting(describe(action)))
      return;
    const ActionResult r = run(action);
    if (auto follow = core_->on_result(action, r, clock_.now(), wall_ms()))
      (void)publish(*follow);
  }
}

ActionResult Monitor::run(const Action& action) {
  return std::visit(
      Overloaded{
          [&](const Promote& p) { return promote(p); },
          [&](const Switchover& s) { return switchover(s); },
          [&](const Fence& f) {
            return fence(f.node, options_.action_timeout, FenceBy::restart_if_set);
          },
          [&](const Rejoin& r) { return rejoin(r.node, r.primary, r.old_primary); },
          [&](const MakeWritable& m) {
            try {
              auto f =
                  worker(m.node).submit([engine = engine_, sync = m.sync](db::DbConnection& c) {
                    engine->make_writable(c, sync);
                  });
              await(f, options_.action_timeout, "make writable");
              events_.emit({"made_writable", m.node, {{"sync", m.sync}}});
              return ActionResult{.ok = true};
            } catch (const std::exception& e) {
              return ActionResult{.error = e.what()};
            }
          },
          [&](const SetSync& s) {
            try {
              auto f = worker(s.node).submit([engine = engine_, on = s.enable](
                                                 db::DbConnection& c) { engine->set_sync(c, on); });
              await(f, options_.action_timeout, "set synchronous mode");
              events_.emit({"sync_set", s.node, {{"enabled", s.enable}}});
              return ActionResult{.ok = true};
            } catch (const std::exception& e) {
              return ActionResult{.error = e.what()};
            }
          },
      },
      action);
}

std::function<FenceWay(db::DbConnection&)> Monitor::fence_job(const std::string& name,
                                                              FenceBy by) const {
  const std::string command = by == FenceBy::restart_if_set ? node(name).fence_command : "";
  return [engine = engine_, command, run_for = options_.action_timeout](db::DbConnection& c) {
    return fence_returning_primary(
        *engine, c, command, [run_for](const std::string& cmd) { return run_shell(cmd, run_for); });
  };
}

ActionResult Monitor::fence(const std::string& name, Duration timeout, FenceBy by) {
  events_.emit({"fence_attempt", name, {}});
  try {
    auto f = worker(name).submit(fence_job(name, by));
    const FenceWay way = await(f, timeout, "fence");
    events_.emit({"fence_result",
                  name,
                  {{"ok", true}, {"way", way == FenceWay::restart ? "restart" : "sql"}}});
    return {.ok = true};
  } catch (const std::exception& e) {
    // Still queued on the node's worker if it timed out: it runs if the node comes back.
    events_.emit({"fence_result", name, {{"ok", false}, {"error", e.what()}}});
    return {.error = e.what()};
  }
}

ActionResult Monitor::promote(const Promote& p) {
  const TimePoint started = clock_.now();
  // A hung old primary with a fence command is fenced now, while the promotion runs: the
  // command (a kill) needs no answer from the node, and waiting for it to answer again would
  // leave it writable in its own eyes from the moment it resumes until the fence reaches it.
  // Joined when promote() returns, bounded by fence_timeout.
  std::vector<std::jthread> fencing;
  std::vector<std::string> fenced_by_command;
  for (const auto& old : p.fence_first) {
    const std::string& command = node(old).fence_command;
    if (command.empty() || !worker(old).busy())
      continue;
    fenced_by_command.push_back(old);
    events_.emit({"fence_attempt", old, {{"way", "command"}, {"hung", true}}});
    fencing.emplace_back([this, old, command] {
      const int rc = run_shell(command, options_.fence_timeout);
      events_.emit({"fence_result",
                    old,
                    {{"ok", rc == 0}, {"way", "restart"}, {"hung", true}, {"exit_status", rc}}});
    });
  }
  for (const auto& old : p.fence_first) {
    if (std::find(fenced_by_command.begin(), fenced_by_command.end(), old) !=
        fenced_by_command.end())
      continue;
    // A node whose worker is still stuck on a check is hung: queue the fence (it runs if the
    // node ever answers again) without holding the promotion for it.
    if (worker(old).busy()) {
      events_.emit({"fence_attempt", old, {{"queued", true}}});
      auto queued = worker(old).submit(
          [this, name = old, job = fence_job(old, FenceBy::restart_if_set)](db::DbConnection& c) {
            const FenceWay way = job(c);
            events_.emit({"queued_fence_done",
                          name,
                          {{"way", way == FenceWay::restart ? "restart" : "sql"}}});
          });
      (void)queued;
    } else {
      (void)fence(old, options_.fence_timeout, FenceBy::restart_if_set);
    }
  }
  if (!still_acting("promote " + p.node))
    return {.error = "this monitor stopped acting before the promotion"};
  events_.emit({"promote_start", p.node, {{"wait_for", p.wait_for.text()}, {"sync", p.sync}}});
  try {
    auto f =
        worker(p.node).submit([engine = engine_, apply = options_.apply_timeout, sync = p.sync](
                                  db::DbConnection& c) { engine->promote(c, apply, sync); });
    await(f, options_.action_timeout + options_.apply_timeout, "promotion");
  } catch (const std::exception& e) {
    return {.error = e.what()};
  }
  ++failovers_;
  events_.emit({"promote_done", p.node, {{"ms", ms(clock_.now() - started)}}});
  repoint(p.node, p.repoint);
  write_probe(p.node, started);
  return {.ok = true};
}

void Monitor::write_probe(const std::string& primary, TimePoint since) {
  try {
    auto f = worker(primary).submit([engine = engine_, epoch = core_->record().epoch](
                                        db::DbConnection& c) { engine->write_probe(c, epoch); });
    await(f, options_.action_timeout, "write probe");
    events_.emit(
        {"first_write_ok", primary, {{"ms_since_promote_start", ms(clock_.now() - since)}}});
  } catch (const std::exception& e) {
    events_.emit({"write_probe_failed", primary, {{"error", e.what()}}});
  }
}

ActionResult Monitor::rejoin(const std::string& name, const std::string& primary,
                             bool old_primary) {
  events_.emit({"rejoin_attempt", name, {{"primary", primary}, {"old_primary", old_primary}}});
  try {
    auto history_f = worker(primary).submit(
        [engine = engine_](db::DbConnection& c) { return engine->history(c); });
    const std::string history = await(history_f, options_.action_timeout, "primary history");
    const NodeSpec self = node(name).spec;
    const NodeSpec target = node(primary).spec;
    if (!still_acting("point " + name + " at " + primary))
      return {.error = "this monitor stopped acting"};
    auto f = worker(name).submit([engine = engine_, self, target, history](db::DbConnection& c) {
      engine->follow(c, self, target, history);
    });
    await(f, options_.action_timeout, "rejoin");
    events_.emit({"rejoin_started", name, {{"primary", primary}}});
    return {.ok = true};
  } catch (const EngineRefusal& e) {
    const std::string& command = node(name).rejoin_command;
    if (!command.empty()) {
      events_.emit({"rejoin_command", name, {{"command", command}, {"because", e.what()}}});
      const int rc = run_shell(command, options_.action_timeout);
      if (rc == 0)
        return {.ok = true};
      return {.error = "rejoin command exited with " + std::to_string(rc)};
    }
    events_.emit({"rejoin_refused", name, {{"reason", e.what()}}});
    return {.error = e.what()};
  } catch (const std::exception& e) {
    return {.error = e.what()};
  }
}

void Monitor::repoint(const std::string& primary, const std::vector<std::string>& replicas) {
  if (replicas.empty())
    return;
  json::array ok, failed;
  for (const auto& r : replicas) {
    const ActionResult res = rejoin(r, primary, false);
    if (res.ok)
      ok.push_back(json::value(r));
    else
      failed.push_back(json::object{{"node", r}, {"error", res.error}});
  }
  events_.emit({"replicas_repointed", primary, {{"ok", ok}, {"failed", failed}}});
}

ActionResult Monitor::switchover(const Switchover& s) {
  const TimePoint started = clock_.now();
  const bool was_sync = core_->record().mode == ReplicationMode::sync;
  auto undo = [&](const std::string& why) {
    events_.emit({"switchover_aborted", s.old_primary, {{"reason", why}}});
    try {
      auto f = worker(s.old_primary).submit([engine = engine_, was_sync](db::DbConnection& c) {
        engine->make_writable(c, was_sync);
      });
      await(f, options_.action_timeout, "unfence");
    } catch (const std::exception& e) {
      events_.emit({"unfence_failed", s.old_primary, {{"error", e.what()}}});
    }
    return ActionResult{.error = why};
  };
  if (const ActionResult r = fence(s.old_primary, options_.action_timeout, FenceBy::sql); !r.ok)
    return undo("fence failed: " + r.error);
  try {
    auto pos_f = worker(s.old_primary).submit([engine = engine_](db::DbConnection& c) {
      return engine->written(c);
    });
    const Position pos = await(pos_f, options_.action_timeout, "position");
    events_.emit({"switchover_wait", s.candidate, {{"position", pos.text()}}});
    auto wait_f = worker(s.candidate)
                      .submit([engine = engine_, pos, apply = options_.apply_timeout](
                                  db::DbConnection& c) { engine->wait_applied(c, pos, apply); });
    await(wait_f, options_.apply_timeout + options_.action_timeout, "catch-up");
  } catch (const std::exception& e) {
    return undo(std::string("candidate did not catch up: ") + e.what());
  }
  if (!publish(core_->switchover_record(s.old_primary, s.candidate, clock_.now(), wall_ms())))
    return undo("the new topology could not be published");
  if (!still_acting("promote " + s.candidate))
    return {.error = "this monitor stopped acting after publishing the switchover"};
  events_.emit({"promote_start", s.candidate, {{"switchover", true}}});
  try {
    auto f = worker(s.candidate)
                 .submit([engine = engine_, apply = options_.apply_timeout](db::DbConnection& c) {
                   engine->promote(c, apply, false);
                 });
    await(f, options_.action_timeout + options_.apply_timeout, "promotion");
  } catch (const std::exception& e) {
    return {.error = std::string("promotion failed after publishing: ") + e.what()};
  }
  events_.emit({"promote_done", s.candidate, {{"ms", ms(clock_.now() - started)}}});
  (void)rejoin(s.old_primary, s.candidate, true);
  repoint(s.candidate, s.repoint);
  write_probe(s.candidate, started);
  events_.emit({"switchover_done",
                s.candidate,
                {{"from", s.old_primary}, {"ms", ms(clock_.now() - started)}}});
  return {.ok = true};
}

// ---- commands ---------------------------------------------------------------------------

std::future<Monitor::CommandResult> Monitor::command(CommandKind kind, std::string candidate) {
  auto p = std::make_unique<Pending>();
  p->kind = kind;
  p->candidate = std::move(candidate);
  auto f = p->done.get_future();
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      p->done.set_value({.ok = false, .message = "the monitor is stopping"});
      return f;
    }
    commands_.push_back(std::move(p));
  }
  wake_.notify_all();
  return f;
}

void Monitor::run_command(Pending& p) {
  if (!store_->may_act()) {
    const std::string acting = store_->acting_member();
    p.done.set_value({.ok = false,
                      .message = "this monitor does not act (" + store_->why_not_acting() + ")" +
                                 (acting.empty() ? "" : ": ask " + acting)});
    return;
  }
  const TimePoint now = clock_.now();
  const int64_t wall = wall_ms();
  MonitorCore::Command cmd;
  std::string what;
  switch (p.kind) {
    case CommandKind::ack:
      cmd = core_->acknowledge(wall);
      what = "acknowledged: automatic failover allowed again";
      break;
    case CommandKind::maintenance_on:
    case CommandKind::maintenance_off:
      cmd = core_->set_maintenance(p.kind == CommandKind::maintenance_on, wall);
      what = p.kind == CommandKind::maintenance_on ? "maintenance on: automatic actions paused"
                                                   : "maintenance off";
      break;
    case CommandKind::switchover:
      cmd = core_->switchover(p.candidate);
      break;
    case CommandKind::failover:
      cmd = core_->force_failover(p.candidate, now, wall);
      break;
  }
  if (!cmd.plan) {
    p.done.set_value({.ok = false, .message = cmd.error});
    return;
  }
  Plan plan = std::move(*cmd.plan);
  if (plan.publish && !publish(*plan.publish)) {
    p.done.set_value({.ok = false, .message = "the topology record changed meanwhile: retry"});
    return;
  }
  std::string error;
  for (const auto& action : plan.actions) {
    const ActionResult r = run(action);
    if (!r.ok && error.empty())
      error = describe(action) + ": " + r.error;
    if (auto follow = core_->on_result(action, r, clock_.now(), wall_ms()))
      (void)publish(*follow);
  }
  if (what.empty())
    what = "primary is now " + core_->record().primary + " (epoch " +
           std::to_string(core_->record().epoch) + ")";
  p.done.set_value(error.empty() ? CommandResult{.ok = true, .message = what}
                                 : CommandResult{.ok = false, .message = error});
}

// ---- loop and snapshot ------------------------------------------------------------------

void Monitor::step() {
  // This round came at once after a change; if it changes the record again, the next waits
  // (a record that changed every round must not spin the loop).
  const bool came_at_once = topology_changed_;
  const uint64_t epoch_before = core_->record().epoch;
  Coordination coordination;
  coordination.acting = store_->may_act();
  if (!coordination.acting || !was_acting_) {
    // Another monitor may have changed the record: read it before looking, and before
    // acting on a leadership just won.
    coordination.why_not = store_->why_not_acting();
    try {
      if (auto stored = store_->load(); stored && *stored != core_->record())
        core_->follow(*stored);
    } catch (const std::exception& e) {
      events_.emit({"store_error", "", {{"error", e.what()}}});
      coordination.acting = false;
      coordination.why_not = std::string("the topology record cannot be read: ") + e.what();
    }
  }
  was_acting_ = coordination.acting;
  auto round = check_all();
  const std::string& primary = core_->record().primary;
  const auto seen = primary.empty() ? round.end() : round.find(primary);
  const bool primary_failing = seen != round.end() && seen->second.reach == Reach::failed;
  if (coordination.acting && primary_failing) {
    try {
      coordination.peers = store_->peer_views();
    } catch (const std::exception& e) {
      // Without the others' views this monitor cannot tell its own cut-off from a failure.
      coordination.acting = false;
      coordination.why_not = std::string("the other monitors' views cannot be read: ") + e.what();
    }
  }
  if (!primary.empty())
    store_->share_view({.epoch = core_->record().epoch,
                        .primary = primary,
                        .primary_failing = primary_failing,
                        .at_ms = wall_ms()});
  Plan plan = core_->observe(round, clock_.now(), wall_ms(), coordination);
  execute(std::move(plan));
  ++rounds_;
  refresh_snapshot();
  topology_changed_ = !came_at_once && core_->record().epoch != epoch_before;
  for (;;) {
    std::unique_ptr<Pending> next;
    {
      std::lock_guard lock(mu_);
      if (stopping_ || commands_.empty())
        return;
      next = std::move(commands_.front());
      commands_.pop_front();
    }
    const uint64_t before_command = core_->record().epoch;
    run_command(*next);
    refresh_snapshot();
    topology_changed_ =
        topology_changed_ || (!came_at_once && core_->record().epoch != before_command);
  }
}

Duration Monitor::pause_before_next_round() const {
  if (topology_changed_)
    return Duration::zero();
  return core_->any_suspect() ? options_.suspect_interval : options_.interval;
}

void Monitor::loop() {
  for (;;) {
    const auto started = std::chrono::steady_clock::now();
    step();
    {
      std::lock_guard lock(mu_);
      if (stopping_)
        return;
    }
    // Rounds start every `wait`, but a round that ran long (a check timing out) is followed
    // by a pause: consecutive failed checks must be separate looks at the node.
    const auto wait = pause_before_next_round();
    const auto next = std::max(started + wait, std::chrono::steady_clock::now() + wait / 2);
    std::unique_lock lock(mu_);
    wake_.wait_until(lock, next, [this] { return stopping_ || !commands_.empty(); });
    if (stopping_)
      return;
  }
}

std::shared_ptr<const MonitorSnapshot> Monitor::snapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

void Monitor::refresh_snapshot() {
  auto snap = std::make_shared<MonitorSnapshot>();
  const TopologyRecord& rec = core_->record();
  snap->record = rec;
  snap->state = core_->state();
  snap->failovers = failovers_;
  snap->rounds = rounds_;
  const NodeSpec* primary = rec.primary.empty() ? nullptr : core_->spec(rec.primary);
  json::array nodes;
  for (const auto& n : options_.nodes) {
    const auto& v = core_->view(n.spec.name);
    const auto& o = v.last;
    const bool is_primary = n.spec.name == rec.primary;
    std::string role = is_primary                               ? "primary"
                       : rec.needs_rejoin.contains(n.spec.name) ? "needs_rejoin"
                       : v.last_ok.replicating                  ? "replica"
                                                                : "unknown";
    const bool streaming = primary && !is_primary && o.reach == Reach::ok && o.replicating &&
                           o.receiver_running && o.source == primary->source_address() &&
                           v.health == Health::healthy;
    if (streaming && role == "replica")
      snap->streaming_replicas.push_back(n.spec.name);
    const bool healthy = v.checked && o.reach == Reach::ok && v.health == Health::healthy;
    if (healthy && !o.writable && (role == "replica" || is_primary))
      snap->readable_replicas.push_back(n.spec.name);
    snap->up[n.spec.name] = v.checked && o.reach != Reach::failed;
    snap->writable[n.spec.name] = o.reach == Reach::ok && o.writable;
    json::object node{
        {"name", n.spec.name},
        {"host", n.spec.host},
        {"port", n.spec.port},
        {"role", role},
        {"health", to_string(v.health)},
        {"check", v.checked ? to_string(o.reach) : "pending"},
        {"consecutive_failures", v.consecutive_failures},
        {"error", o.error},
        {"writable", o.reach == Reach::ok && o.writable},
        {"replicating", v.last_ok.replicating},
        {"source", v.last_ok.source},
        {"streaming", streaming},
        {"received", v.last_ok.received.text()},
        {"applied", v.last_ok.applied.text()},
        {"errant", v.last_ok.errant},
    };
    if (is_primary) {
      node["sync_enabled"] = v.last_ok.sync_enabled;
      node["sync_replicas"] = v.last_ok.sync_replicas;
    }
    if (const auto lag = core_->lag(n.spec.name); lag && !is_primary) {
      node["lag"] = *lag;
      snap->lag[n.spec.name] = static_cast<int64_t>(*lag);
    }
    if (rec.needs_rejoin.contains(n.spec.name))
      node["needs_rejoin"] = rec.needs_rejoin.at(n.spec.name);
    nodes.push_back(std::move(node));
  }
  if (primary) {
    const auto& v = core_->view(rec.primary);
    if (v.health != Health::down && v.last.reach == Reach::ok && v.last.writable &&
        core_->state() != "failing_over")
      snap->serving_primary = rec.primary;
  }
  json::array recent;
  for (const int64_t t : rec.recent_failovers_ms)
    recent.push_back(t);
  json::object needs;
  for (const auto& [k, why] : rec.needs_rejoin)
    needs[k] = why;
  snap->status = json::object{
      {"cluster", options_.cluster},
      {"acting", was_acting_},
      {"acting_member", store_->acting_member()},
      {"why_not_acting", was_acting_ ? std::string() : store_->why_not_acting()},
      {"engine", std::string(engine_->name())},
      {"state", core_->state()},
      {"reason", core_->state_reason()},
      {"epoch", rec.epoch},
      {"primary", rec.primary},
      {"serving_primary", snap->serving_primary},
      {"replication_mode", to_string(rec.mode)},
      {"mode_reason", rec.mode_reason},
      {"needs_rejoin", needs},
      {"blocked", rec.blocked},
      {"maintenance", rec.maintenance},
      {"recent_failovers_ms", std::move(recent)},
      {"flap_guard",
       json::object{
           {"max_failovers", options_.core.max_failovers},
           {"window_s",
            std::chrono::duration_cast<std::chrono::seconds>(options_.core.flap_window).count()}}},
      {"updated_at_ms", rec.updated_at_ms},
      {"nodes", nodes},
      {"rounds", rounds_},
      {"failovers", failovers_},
  };
  std::lock_guard lock(mu_);
  snapshot_ = std::move(snap);
}

}  // namespace medgate::dbmon
