#include "db-monitors/monitor_core.hpp"

#include <algorithm>

#include "db-monitors/overloaded.hpp"

namespace medgate::dbmon {

namespace json = boost::json;

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v)
    out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

const char* to_string(Health h) {
  switch (h) {
    case Health::healthy:
      return "healthy";
    case Health::suspect:
      return "suspect";
    case Health::down:
      return "down";
  }
  return "?";
}

std::string describe(const Action& a) {
  return std::visit(Overloaded{
                        [](const Promote& p) { return "promote " + p.node; },
                        [](const MakeWritable& m) { return "make " + m.node + " writable"; },
                        [](const Fence& f) { return "fence " + f.node; },
                        [](const SetSync& s) {
                          return std::string(s.enable ? "restore" : "relax") +
                                 " synchronous replication on " + s.node;
                        },
                        [](const Rejoin& r) { return "point " + r.node + " at " + r.primary; },
                        [](const Switchover& s) {
                          return "switch over from " + s.old_primary + " to " + s.candidate;
                        },
                    },
                    a);
}

MonitorCore::MonitorCore(std::vector<NodeSpec> nodes, CoreOptions options, TopologyRecord record,
                         EventSink& events)
    : nodes_(std::move(nodes)),
      options_(std::move(options)),
      record_(std::move(record)),
      events_(events) {
  for (const auto& n : nodes_)
    views_[n.name];
}

const NodeSpec* MonitorCore::spec(const std::string& name) const {
  for (const auto& n : nodes_)
    if (n.name == name)
      return &n;
  return nullptr;
}

void MonitorCore::emit(std::string type, const std::string& node, json::object fields) {
  events_.emit(Event{std::move(type), node, std::move(fields)});
}

void MonitorCore::set_state(std::string state, std::string reason) {
  state_ = std::move(state);
  state_reason_ = std::move(reason);
}

bool MonitorCore::any_suspect() const {
  return std::any_of(views_.begin(), views_.end(),
                     [](const auto& kv) { return kv.second.health == Health::suspect; });
}

TopologyRecord MonitorCore::next_record(int64_t wall_ms) const {
  TopologyRecord r = record_;
  r.epoch = record_.epoch + 1;
  r.updated_at_ms = wall_ms;
  return r;
}

std::vector<int64_t> MonitorCore::failovers_in_window(int64_t wall_ms) const {
  const int64_t window =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.flap_window).count();
  std::vector<int64_t> out;
  for (const int64_t t : record_.recent_failovers_ms)
    if (wall_ms - t < window)
      out.push_back(t);
  return out;
}

std::optional<uint64_t> MonitorCore::lag(const std::string& name) const {
  const auto& v = views_.at(name);
  if (!v.last_ok.replicating || last_primary_position_.empty())
    return std::nullopt;
  return v.last_ok.received.missing_from(last_primary_position_);
}

// ---- detection ---------------------------------------------------------------------------

void MonitorCore::detect(const std::string& name, const NodeObservation& obs, TimePoint now) {
  auto& v = views_.at(name);
  if (obs.reach == Reach::failed) {
    ++v.consecutive_failures;
    if (v.consecutive_failures <= options_.failures_to_down)
      emit(
          "check_failed", name,
          {{"n", v.consecutive_failures}, {"of", options_.failures_to_down}, {"error", obs.error}});
    if (v.health == Health::healthy) {
      v.health = Health::suspect;
      emit("suspect", name, {{"error", obs.error}});
    }
    if (v.consecutive_failures >= options_.failures_to_down && v.health != Health::down) {
      v.health = Health::down;
      emit("node_down", name, {{"failures", v.consecutive_failures}, {"error", obs.error}});
    }
  } else {
    if (v.health != Health::healthy)
      emit("node_recovered", name,
           {{"from", to_string(v.health)}, {"failures", v.consecutive_failures}});
    v.health = Health::healthy;
    v.consecutive_failures = 0;
    if (obs.reach == Reach::refusing && (!v.checked || v.last.reach != Reach::refusing))
      emit("check_refused", name, {{"error", obs.error}, {"counts_as", "alive"}});
    if (obs.reach == Reach::ok) {
      if (!v.last_ok.replicating || obs.receiver_progress != v.last_ok.receiver_progress ||
          obs.receiver_running != v.last_ok.receiver_running || v.progress_since == TimePoint{})
        v.progress_since = obs.at == TimePoint{} ? now : std::min(obs.at, now);
      v.last_ok = obs;
    }
  }
  v.last = obs;
  v.checked = true;
}

bool MonitorCore::streams_from_primary(const std::string& name) const {
  const auto& v = views_.at(name);
  const NodeSpec* p = spec(record_.primary);
  return p && v.last.reach == Reach::ok && v.last.replicating && v.last.receiver_running &&
         v.last.source == p->source_address();
}

// A reachable replica that streamed from the primary and stopped hearing from it.
bool MonitorCore::replica_confirms(const std::string& name, TimePoint now) const {
  const auto& v = views_.at(name);
  const NodeSpec* p = spec(record_.primary);
  if (!p || v.last.reach != Reach::ok || !v.last.replicating)
    return false;
  if (!v.last.source.empty() && v.last.source != p->source_address())
    return false;  // follows another source: no evidence about this primary
  return !v.last.receiver_running || now - v.progress_since >= options_.confirm_silence;
}

// A replica that cannot acknowledge and has been confirmed unable to for a while.
bool MonitorCore::replica_gone(const std::string& name, TimePoint now) const {
  const auto& v = views_.at(name);
  if (v.health == Health::down)
    return true;
  if (v.last.reach != Reach::ok)
    return false;  // suspect or refusing: not confirmed
  if (!v.last.replicating)
    return true;
  const bool silent =
      !v.last.receiver_running || v.last.source != spec(record_.primary)->source_address();
  return silent && now - v.progress_since >= options_.relax_after;
}

// ---- the round ---------------------------------------------------------------------------

Plan MonitorCore::observe(const std::map<std::string, NodeObservation>& round, TimePoint now,
                          int64_t wall_ms, const Coordination& coordination) {
  coordination_ = coordination;
  for (const auto& n : nodes_) {
    const auto it = round.find(n.name);
    NodeObservation missing;
    missing.error = "not checked";
    detect(n.name, it == round.end() ? missing : it->second, now);
  }
  Plan plan;
  if (!coordination_.acting) {
    set_state("standby",
              coordination_.why_not.empty() ? "another monitor acts" : coordination_.why_not);
    return plan;
  }
  if (record_.maintenance) {
    set_state("maintenance", "automatic actions paused by an operator");
    return plan;
  }
  if (record_.primary.empty())
    return bootstrap(wall_ms);

  const auto& pv = views_.at(record_.primary);
  if (pv.health == Health::down) {
    primary_down(plan, now, wall_ms);
  } else {
    if (confirmed_announced_ || unreachable_announced_ || peers_disagree_announced_)
      emit("primary_back", record_.primary, {});
    confirmed_announced_ = false;
    unreachable_announced_ = false;
    peers_disagree_announced_ = false;
    last_refusal_.clear();
    if (pv.health == Health::suspect)
      set_state("suspect", record_.primary + ": " + pv.last.error);
    else if (pv.last.reach == Reach::refusing)
      set_state("healthy", record_.primary + " is alive but refuses the monitor: " + pv.last.error);
    else
      primary_healthy(plan, now, wall_ms);
  }
  repair_others(plan, now, wall_ms);
  return plan;
}

Plan MonitorCore::bootstrap(int64_t wall_ms) {
  Plan plan;
  std::vector<std::string> writable;
  for (const auto& n : nodes_) {
    const auto& v = views_.at(n.name);
    if (v.last.reach == Reach::ok && v.last.writable)
      writable.push_back(n.name);
  }
  std::string elect;
  if (writable.size() == 1) {
    elect = writable.front();
  } else if (!options_.bootstrap_primary.empty()) {
    const auto& v = views_.at(options_.bootstrap_primary);
    const bool others_writable =
        std::any_of(writable.begin(), writable.end(),
                    [&](const std::string& w) { return w != options_.bootstrap_primary; });
    if (v.last.reach == Reach::ok && (!others_writable || v.last.writable))
      elect = options_.bootstrap_primary;
  }
  if (elect.empty()) {
    set_state("bootstrapping",
              writable.empty()
                  ? "no node is writable and bootstrap_primary is not set or not reachable"
                  : "several nodes are writable (" + join(writable) +
                        ") and bootstrap_primary is not one of them: an operator must decide");
    return plan;
  }
  TopologyRecord rec = next_record(wall_ms);
  rec.primary = elect;
  rec.mode = ReplicationMode::async;
  rec.mode_reason = "bootstrap: synchronous once a replica acknowledges and has caught up";
  plan.publish = rec;
  emit("bootstrap_elected", elect, {{"epoch", rec.epoch}});
  const auto& v = views_.at(elect);
  if (!v.last.writable) {
    if (v.last.replicating)
      plan.actions.push_back(Promote{.node = elect, .wait_for = v.last.received});
    else
      plan.actions.push_back(MakeWritable{.node = elect, .sync = false});
  }
  set_state("healthy", "bootstrapped with " + elect + " as the primary");
  return plan;
}

void MonitorCore::primary_healthy(Plan& plan, TimePoint now, int64_t wall_ms) {
  auto& pv = views_.at(record_.primary);
  const NodeObservation& p = pv.last;
  set_state("healthy", "");
  if (!p.replicating && p.writable)
    last_primary_position_ = p.applied;
  if (!p.writable) {
    set_state("read_only", record_.primary + " is elected but does not take writes" +
                               (record_.blocked.empty() ? std::string(": making it writable")
                                                        : ": " + record_.blocked));
    if (record_.blocked.empty() && now >= pv.next_repair) {
      pv.next_repair = now + options_.repair_backoff;
      if (p.replicating)
        plan.actions.push_back(Promote{.node = record_.primary, .wait_for = p.received});
      else
        plan.actions.push_back(
            MakeWritable{.node = record_.primary, .sync = record_.mode == ReplicationMode::sync});
    }
    return;
  }
  manage_sync(plan, now, wall_ms);
}

void MonitorCore::manage_sync(Plan& plan, TimePoint now, int64_t wall_ms) {
  if (!options_.manage_sync)
    return;
  auto& pv = views_.at(record_.primary);
  const NodeObservation& p = pv.last;
  std::vector<std::string> replicas, streaming;
  for (const auto& n : nodes_) {
    if (n.name == record_.primary || record_.needs_rejoin.contains(n.name))
      continue;
    replicas.push_back(n.name);
    if (views_.at(n.name).health == Health::healthy && streams_from_primary(n.name))
      streaming.push_back(n.name);
  }
  auto publish = [&](ReplicationMode mode, std::string reason) {
    TopologyRecord rec = plan.publish ? *plan.publish : next_record(wall_ms);
    emit("rpo_mode_changed", record_.primary,
         {{"from", to_string(record_.mode)}, {"to", to_string(mode)}, {"reason", reason}});
    rec.mode = mode;
    rec.mode_reason = std::move(reason);
    plan.publish = rec;
  };

  if (record_.mode == ReplicationMode::sync) {
    sync_restore_pending_ = false;
    if (!p.sync_enabled) {
      // Something turned it off behind our back: the record must not claim what is not so.
      publish(ReplicationMode::async, "synchronous replication was found off on the primary");
      if (!streaming.empty())
        plan.actions.push_back(
            SetSync{.node = record_.primary, .enable = true, .replicas = streaming});
      return;
    }
    if (p.sync_replicas > 0)
      return;
    std::vector<std::string> gone;
    for (const auto& r : replicas)
      if (replica_gone(r, now))
        gone.push_back(r);
    if (gone.size() == replicas.size()) {
      // Writes are blocked until we act; every replica is confirmed gone.
      publish(ReplicationMode::async, replicas.empty()
                                          ? "no replica is configured"
                                          : "no replica can acknowledge (" + join(gone) + " gone)");
      plan.actions.push_back(SetSync{.node = record_.primary, .enable = false});
    }
    return;
  }

  // Asynchronous: go back to synchronous once a replica acknowledges and has caught up.
  if (streaming.empty()) {
    sync_restore_pending_ = false;
    return;
  }
  if (!p.sync_enabled || p.sync_replicas == 0) {
    sync_restore_pending_ = false;
    if (!p.sync_enabled && now >= pv.next_repair) {
      pv.next_repair = now + options_.repair_backoff;
      plan.actions.push_back(
          SetSync{.node = record_.primary, .enable = true, .replicas = streaming});
    }
    return;
  }
  // Synchronous and acknowledged from here on. Writes from the asynchronous period are all
  // within the first position read after that (drivers read the sync state before the
  // position), so a replica that has it has them all.
  if (!sync_restore_pending_) {
    sync_restore_pending_ = true;
    sync_baseline_ = p.applied;
  }
  for (const auto& r : streaming) {
    if (views_.at(r).last.received.covers(sync_baseline_)) {
      sync_restore_pending_ = false;
      publish(ReplicationMode::sync, r + " acknowledges and has every earlier write");
      return;
    }
  }
}

void MonitorCore::repair_others(Plan& plan, TimePoint now, int64_t wall_ms) {
  const NodeSpec* primary = spec(record_.primary);
  const auto& pv = views_.at(record_.primary);
  const bool primary_ok =
      pv.health == Health::healthy && pv.last.reach == Reach::ok && pv.last.writable;
  auto record = [&]() -> TopologyRecord& {
    if (!plan.publish)
      plan.publish = next_record(wall_ms);
    return *plan.publish;
  };
  for (const auto& n : nodes_) {
    if (n.name == record_.primary)
      continue;
    auto& v = views_.at(n.name);
    if (v.last.reach != Reach::ok)
      continue;
    const bool marked = record_.needs_rejoin.contains(n.name);
    if (v.last.writable) {
      // A second writer. Fence it at once, whatever the primary's state, every round until
      // it is read-only.
      const std::string why = marked ? "returned writable: " + record_.needs_rejoin.at(n.name)
                                     : "writable while " + record_.primary + " is the primary";
      emit(marked ? "old_primary_returned" : "unexpected_writer", n.name, {{"reason", why}});
      if (!marked)
        record().needs_rejoin[n.name] = why;
      plan.actions.push_back(Fence{.node = n.name, .reason = why});
      continue;
    }
    if (!primary_ok || !primary)
      continue;
    if (marked) {
      if (streams_from_primary(n.name)) {
        record().needs_rejoin.erase(n.name);
        emit("old_primary_rejoined", n.name, {{"primary", record_.primary}});
      } else if (options_.auto_rejoin && now >= v.next_repair) {
        v.next_repair = now + options_.repair_backoff;
        plan.actions.push_back(
            Rejoin{.node = n.name, .primary = record_.primary, .old_primary = true});
      }
      continue;
    }
    const bool wrong_source =
        v.last.replicating && !v.last.source.empty() && v.last.source != primary->source_address();
    if ((wrong_source || !v.last.replicating) && now >= v.next_repair) {
      v.next_repair = now + options_.repair_backoff;
      plan.actions.push_back(Rejoin{.node = n.name, .primary = record_.primary});
    }
  }
}

// ---- failover ------------------------------------------------------------------------------

void MonitorCore::refuse(const std::string& reason) {
  set_state("down", reason);
  // One event per reason, not per round: a countdown in the text is not a new reason.
  std::string key = reason;
  std::erase_if(key, [](char c) { return c >= '0' && c <= '9'; });
  if (key != last_refusal_) {
    last_refusal_ = key;
    emit("failover_refused", record_.primary, {{"reason", reason}});
  }
}

bool MonitorCore::monitors_agree_primary_failing() {
  size_t voters = 1, failing = 1;  // this monitor sees it down
  std::vector<std::string> reaching;
  for (const auto& p : coordination_.peers) {
    if (p.epoch != record_.epoch || p.primary != record_.primary)
      continue;  // a view of another record: it has not caught up, it does not vote
    ++voters;
    if (p.primary_failing)
      ++failing;
    else
      reaching.push_back(p.member);
  }
  if (failing * 2 > voters)
    return true;
  set_state("unreachable", "this monitor cannot reach " + record_.primary + " but " +
                               join(reaching) + " still can: not promoting");
  if (!peers_disagree_announced_) {
    peers_disagree_announced_ = true;
    emit("monitors_disagree", record_.primary,
         {{"still_reaching", join(reaching)}, {"voters", voters}, {"failing", failing}});
  }
  return false;
}

void MonitorCore::primary_down(Plan& plan, TimePoint now, int64_t wall_ms) {
  const std::string& primary = record_.primary;
  std::vector<std::string> confirming, denying, reachable;
  for (const auto& n : nodes_) {
    if (n.name == primary || record_.needs_rejoin.contains(n.name))
      continue;
    const auto& v = views_.at(n.name);
    if (v.last.reach != Reach::ok || !v.last.replicating)
      continue;
    reachable.push_back(n.name);
    if (replica_confirms(n.name, now))
      confirming.push_back(n.name);
    else if (v.last.source.empty() || v.last.source == spec(primary)->source_address())
      denying.push_back(n.name);
  }
  if (reachable.empty()) {
    refuse(primary +
           " is down for the monitor and no replica is reachable to confirm it or "
           "to be promoted");
    return;
  }
  if (!denying.empty()) {
    set_state("unreachable", "the monitor cannot reach " + primary + " but " + join(denying) +
                                 " still receive from it: not promoting");
    if (!unreachable_announced_) {
      unreachable_announced_ = true;
      emit("unreachable", primary, {{"replicas_still_receiving", join(denying)}});
    }
    return;
  }
  if (confirming.empty()) {
    refuse(primary + " is down for the monitor; no replica streamed from it to confirm");
    return;
  }
  if (!monitors_agree_primary_failing())
    return;
  if (!confirmed_announced_) {
    confirmed_announced_ = true;
    emit("replicas_confirm", primary, {{"replicas", join(confirming)}});
    emit("confirmed_down", primary,
         {{"failures", views_.at(primary).consecutive_failures}, {"replicas", join(confirming)}});
  }
  if (!options_.auto_failover) {
    refuse("automatic failover is disabled: POST /failover to promote");
    return;
  }
  if (!record_.blocked.empty()) {
    refuse("automatic failover blocked (" + record_.blocked + "): POST /ack to allow it again");
    return;
  }
  if (const auto recent = failovers_in_window(wall_ms); recent.size() >= options_.max_failovers) {
    const auto window_s =
        std::chrono::duration_cast<std::chrono::seconds>(options_.flap_window).count();
    TopologyRecord rec = next_record(wall_ms);
    rec.blocked = "held by the flap guard: " + std::to_string(recent.size()) +
                  " failovers within " + std::to_string(window_s) + " s, the last " +
                  std::to_string((wall_ms - recent.back()) / 1000) + " s ago";
    emit("flap_guard_held", primary,
         {{"failovers", recent.size()}, {"window_s", window_s}, {"max", options_.max_failovers}});
    plan.publish = rec;
    refuse("automatic failover blocked (" + rec.blocked + "): POST /ack to allow it again");
    return;
  }
  const Choice choice = choose_candidate(false);
  if (!choice.refusal.empty()) {
    refuse(choice.refusal);
    return;
  }
  plan = failover_plan(choice.node, now, wall_ms,
                       "confirmed down by the monitor and " + join(confirming));
}

MonitorCore::Choice MonitorCore::choose_candidate(bool override_refusals) const {
  std::vector<std::string> eligible, reasons;
  for (const auto& n : nodes_) {
    if (n.name == record_.primary)
      continue;
    const auto& v = views_.at(n.name);
    if (record_.needs_rejoin.contains(n.name)) {
      reasons.push_back(n.name + " needs rejoin");
    } else if (v.last.reach != Reach::ok) {
      reasons.push_back(n.name + " is not reachable");
    } else if (!v.last.replicating) {
      reasons.push_back(n.name + " is not a replica");
    } else if (n.no_failover) {
      reasons.push_back(n.name + " is marked no_failover");
    } else if (!v.last.errant.empty()) {
      reasons.push_back(n.name + " has errant transactions (" + v.last.errant + ")");
    } else {
      eligible.push_back(n.name);
    }
  }
  if (eligible.empty())
    return {.refusal = "no replica can be promoted: " + join(reasons)};
  // The most advanced: lacks least of what all candidates received together.
  Position all;
  for (const auto& e : eligible)
    for (const auto& [c, ivs] : views_.at(e).last.received.parts())
      for (const auto& [a, b] : ivs)
        all.add(c, a, b);
  std::string best;
  uint64_t best_missing = 0;
  for (const auto& e : eligible) {
    const uint64_t m = views_.at(e).last.received.missing_from(all);
    if (best.empty() || m < best_missing) {
      best = e;
      best_missing = m;
    }
  }
  if (override_refusals)
    return {.node = best};
  if (record_.mode == ReplicationMode::async)
    return {.refusal = "replication was asynchronous (" + record_.mode_reason + "): " + best +
                       " may lack acknowledged writes; an operator may POST /failover"};
  const uint64_t lag = views_.at(best).last.received.missing_from(last_primary_position_);
  if (lag > options_.max_lag_on_failover)
    return {.refusal = best + " lacks " + std::to_string(lag) +
                       " of the primary's last seen position (max_lag_on_failover " +
                       std::to_string(options_.max_lag_on_failover) +
                       "); an operator may POST /failover"};
  return {.node = best};
}

Plan MonitorCore::failover_plan(const std::string& candidate, TimePoint now, int64_t wall_ms,
                                const std::string& why) {
  Plan plan;
  const std::string old = record_.primary;
  TopologyRecord rec = next_record(wall_ms);
  rec.needs_rejoin[old] = "failed over at epoch " + std::to_string(rec.epoch) + ": " + why;
  rec.needs_rejoin.erase(candidate);
  rec.primary = candidate;
  std::vector<std::string> repoint;
  bool replica_left = false;
  for (const auto& n : nodes_) {
    if (n.name == candidate || n.name == old || rec.needs_rejoin.contains(n.name))
      continue;
    repoint.push_back(n.name);
    replica_left = replica_left || views_.at(n.name).health == Health::healthy;
  }
  rec.mode = ReplicationMode::async;
  rec.mode_reason = replica_left ? "failover: synchronous again once a replica acknowledges the "
                                   "new primary and has caught up"
                                 : "failover: no replica left (" + old + " needs rejoin)";
  rec.recent_failovers_ms = failovers_in_window(wall_ms);
  rec.recent_failovers_ms.push_back(wall_ms);
  const auto& cv = views_.at(candidate).last;
  emit("candidate_selected", candidate,
       {{"received", cv.received.text()},
        {"applied", cv.applied.text()},
        {"primary_last_seen", last_primary_position_.text()},
        {"lacks", cv.received.missing_from(last_primary_position_)}});
  plan.publish = rec;
  plan.actions.push_back(Promote{.node = candidate,
                                 .wait_for = cv.received,
                                 .fence_first = {old},
                                 .repoint = repoint,
                                 .sync = replica_left && options_.manage_sync});
  failing_over_ = true;
  confirmed_announced_ = false;  // the episode ends with the new primary
  unreachable_announced_ = false;
  last_refusal_.clear();
  set_state("failing_over", "promoting " + candidate + ": " + why);
  (void)now;
  return plan;
}

// ---- results -------------------------------------------------------------------------------

std::optional<TopologyRecord> MonitorCore::on_result(const Action& action,
                                                     const ActionResult& result, TimePoint now,
                                                     int64_t wall_ms) {
  std::optional<TopologyRecord> out;
  std::visit(
      Overloaded{
          [&](const Promote& p) {
            failing_over_ = false;
            if (result.ok) {
              set_state("healthy", p.node + " promoted");
              return;
            }
            TopologyRecord rec = next_record(wall_ms);
            rec.blocked = "promotion of " + p.node + " failed: " + result.error;
            emit("failover_failed", p.node, {{"error", result.error}});
            set_state("down", rec.blocked);
            out = rec;
          },
          [&](const Switchover& s) {
            if (result.ok)
              return;
            emit("switchover_failed", s.candidate, {{"error", result.error}});
            if (record_.primary == s.candidate) {
              // Failed after the new record was published: stop and ask.
              TopologyRecord rec = next_record(wall_ms);
              rec.blocked = "switchover to " + s.candidate + " failed: " + result.error;
              out = rec;
            }
          },
          [&](const auto& a) {
            auto& v = views_.at(a.node);
            if (result.ok) {
              v.repair_failures = 0;
              return;
            }
            emit("action_failed", a.node, {{"action", describe(action)}, {"error", result.error}});
            // A refusal (diverged data) does not fix itself: ask less and less often.
            const uint32_t doublings = std::min<uint32_t>(v.repair_failures++, 6);
            v.next_repair = now + std::min<Duration>(options_.repair_backoff * (1u << doublings),
                                                     std::chrono::minutes(5));
          },
      },
      action);
  return out;  // becomes the record once published (committed())
}

void MonitorCore::follow(const TopologyRecord& stored) {
  record_ = stored;
  failing_over_ = false;
}

void MonitorCore::adopt(const TopologyRecord& stored) {
  emit("record_conflict", "", {{"ours", record_.epoch}, {"stored", stored.epoch}});
  record_ = stored;
  failing_over_ = false;
}

// ---- operator commands -----------------------------------------------------------------

MonitorCore::Command MonitorCore::acknowledge(int64_t wall_ms) {
  TopologyRecord rec = next_record(wall_ms);
  rec.blocked.clear();
  rec.recent_failovers_ms.clear();
  last_refusal_.clear();
  emit("acknowledged", "", {{"was_blocked", record_.blocked}});
  return {.plan = Plan{.publish = rec}};
}

MonitorCore::Command MonitorCore::set_maintenance(bool on, int64_t wall_ms) {
  TopologyRecord rec = next_record(wall_ms);
  rec.maintenance = on;
  emit("maintenance", "", {{"on", on}});
  return {.plan = Plan{.publish = rec}};
}

MonitorCore::Command MonitorCore::switchover(const std::string& candidate) {
  if (record_.primary.empty())
    return {.error = "no primary is elected yet"};
  const auto& pv = views_.at(record_.primary);
  if (pv.health != Health::healthy || pv.last.reach != Reach::ok || !pv.last.writable)
    return {.error = record_.primary +
                     " is not a healthy writable primary: a switchover needs "
                     "one (use /failover when it is down)"};
  std::string chosen = candidate;
  if (chosen.empty()) {
    for (const auto& n : nodes_)
      if (n.name != record_.primary && !n.no_failover && streams_from_primary(n.name) &&
          views_.at(n.name).last.errant.empty()) {
        chosen = n.name;
        break;
      }
    if (chosen.empty())
      return {.error = "no replica streams from " + record_.primary};
  }
  if (!spec(chosen))
    return {.error = "no node named '" + chosen + "'"};
  if (chosen == record_.primary)
    return {.error = chosen + " is already the primary"};
  if (!streams_from_primary(chosen))
    return {.error = chosen + " does not stream from " + record_.primary};
  if (!views_.at(chosen).last.errant.empty())
    return {.error = chosen + " has errant transactions (" + views_.at(chosen).last.errant + ")"};
  std::vector<std::string> repoint;
  for (const auto& n : nodes_)
    if (n.name != chosen && n.name != record_.primary && !record_.needs_rejoin.contains(n.name))
      repoint.push_back(n.name);
  emit("switchover_start", chosen, {{"from", record_.primary}});
  return {.plan =
              Plan{.actions = {Switchover{
                       .old_primary = record_.primary, .candidate = chosen, .repoint = repoint}}}};
}

TopologyRecord MonitorCore::switchover_record(const std::string& old_primary,
                                              const std::string& candidate, TimePoint /*now*/,
                                              int64_t wall_ms) {
  TopologyRecord rec = next_record(wall_ms);
  rec.primary = candidate;
  rec.needs_rejoin.erase(candidate);
  rec.needs_rejoin[old_primary] =
      "switched over to " + candidate + " at epoch " + std::to_string(rec.epoch);
  rec.mode = ReplicationMode::async;
  rec.mode_reason =
      "switchover: synchronous again once a replica acknowledges the new primary "
      "and has caught up";
  return rec;
}

MonitorCore::Command MonitorCore::force_failover(const std::string& candidate, TimePoint now,
                                                 int64_t wall_ms) {
  if (record_.primary.empty())
    return {.error = "no primary is elected yet"};
  if (views_.at(record_.primary).health != Health::down)
    return {.error = record_.primary + " is not down for the monitor: use /switchover"};
  for (const auto& n : nodes_) {
    if (n.name == record_.primary || record_.needs_rejoin.contains(n.name))
      continue;
    const auto& v = views_.at(n.name);
    if (v.last.reach == Reach::ok && v.last.replicating && !replica_confirms(n.name, now) &&
        (v.last.source.empty() || v.last.source == spec(record_.primary)->source_address()))
      return {.error = n.name + " still receives from " + record_.primary +
                       ": it is alive, refusing to create a second primary"};
  }
  Choice choice = choose_candidate(true);
  if (!choice.refusal.empty())
    return {.error = choice.refusal};
  if (!candidate.empty()) {
    const auto* s = spec(candidate);
    if (!s)
      return {.error = "no node named '" + candidate + "'"};
    const auto& v = views_.at(candidate);
    if (candidate == record_.primary || record_.needs_rejoin.contains(candidate) ||
        v.last.reach != Reach::ok || !v.last.replicating)
      return {.error = candidate + " is not a reachable replica"};
    if (!v.last.errant.empty())
      return {.error = candidate + " has errant transactions (" + v.last.errant + ")"};
    choice.node = candidate;
  }
  emit("operator_failover", choice.node, {{"from", record_.primary}});
  return {.plan = failover_plan(choice.node, now, wall_ms, "operator override")};
}

}  // namespace medgate::dbmon
