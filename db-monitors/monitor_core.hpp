// The monitor's decision core: pure (no I/O, time passed in), engine-neutral.
//
// Each round the monitor checks every node and hands the observations to observe(), which
// updates per-node detection (healthy -> suspect -> down after N consecutive failed checks),
// confirms a primary's failure from its replicas before believing it, and returns a Plan:
// a topology record to publish first (compare-and-set on the epoch), then actions for the
// executor. The executor reports each action's result through on_result(), which may return
// another record to publish.
//
// Safety rules it enforces (docs/db-monitors.md explains why they suffice):
// - A failover needs the primary down for the monitor AND every reachable replica agreeing
//   that its stream from the primary stopped; otherwise it is only "unreachable".
// - The candidate must have received everything any other replica has, carry no errant
//   transactions, lag at most `max_lag_on_failover`, and replication must have been
//   synchronous (an asynchronous period may have acknowledged writes only the old primary
//   has): otherwise the failover is refused with its reason until an operator decides.
// - The record naming the new primary is published before it is made writable; any other
//   writable node is fenced and marked needs_rejoin; only the elected primary is ever made
//   writable, and a node is never re-promoted automatically once marked needs_rejoin.
// - Synchronous replication is relaxed only by the monitor, while it reaches the primary and
//   every replica has been confirmed gone, and the record says "async" before it happens;
//   it says "sync" again only once a replica acknowledges and has caught up.
// - A flap guard, not a cooldown: a cluster fails over again automatically whenever the
//   rules above allow it (a healthy replica, in sync), until `max_failovers` automatic or
//   forced failovers fall within `flap_window`; the next confirmed fault is then held for an
//   operator, as is any fault after a failed promotion. Maintenance pauses every action.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "db-monitors/events.hpp"
#include "db-monitors/observation.hpp"
#include "db-monitors/topology.hpp"
#include "resilience/clock.hpp"

namespace medgate::dbmon {

using resilience::Duration;
using resilience::TimePoint;

struct NodeSpec {
  std::string name;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  // Never chosen by an automatic failover (a reporting replica, a distant one).
  bool no_failover = false;
  // How replicas reach this node when that differs from how the monitor does (a proxy, NAT,
  // another interface); empty / 0: the same.
  std::string replication_host;
  uint16_t replication_port = 0;
  [[nodiscard]] std::string address() const { return host + ":" + std::to_string(port); }
  [[nodiscard]] const std::string& source_host() const {
    return replication_host.empty() ? host : replication_host;
  }
  [[nodiscard]] uint16_t source_port() const {
    return replication_port == 0 ? port : replication_port;
  }
  // What a replica of this node reports as its source ("host:port").
  [[nodiscard]] std::string source_address() const {
    return source_host() + ":" + std::to_string(source_port());
  }
};

struct CoreOptions {
  uint32_t failures_to_down = 3;  // consecutive failed checks
  // A reachable replica confirms its primary is gone when its receiver is not running, or
  // has received nothing (not even a heartbeat) for this long.
  Duration confirm_silence = std::chrono::seconds(1);
  // How much a candidate may lack of the last position seen on the primary (transactions
  // for MariaDB/MySQL, bytes of WAL for PostgreSQL).
  uint64_t max_lag_on_failover = 0;
  // The flap guard: after this many failovers within the window, the next is held.
  uint32_t max_failovers = 3;
  Duration flap_window = std::chrono::minutes(10);
  bool auto_failover = true;
  bool auto_rejoin = true;
  bool manage_sync = true;  // relax and restore synchronous replication
  // A replica that answers but does not stream counts as gone (for relaxing synchronous
  // replication) only after this long: a replica reconnecting after its primary restarted
  // is not gone. An unreachable replica counts once it is down.
  Duration relax_after = std::chrono::seconds(5);
  // Name of the node to elect when no record exists and no node is writable.
  std::string bootstrap_primary;
  // Pause between two attempts of the same repair (rejoin, repoint, fence) on one node.
  Duration repair_backoff = std::chrono::seconds(5);
};

enum class Health : uint8_t { healthy, suspect, down };
[[nodiscard]] const char* to_string(Health h);

// ---- actions the executor carries out -------------------------------------------------
struct Promote {  // make the elected primary serve writes (it is still a replica)
  std::string node;
  Position wait_for;                     // what it received: applied before it is promoted
  std::vector<std::string> fence_first;  // old primary: fence, best effort, before promoting
  std::vector<std::string> repoint;      // other replicas to point at it afterwards
  bool sync = false;                     // enable synchronous replication on it
};
struct MakeWritable {  // the elected primary is not replicating but read-only (restarted)
  std::string node;
  bool sync = false;
};
struct Fence {  // a writable node that is not the elected primary
  std::string node;
  std::string reason;
};
struct SetSync {  // relax (false) or restore (true) synchronous replication on the primary
  std::string node;
  bool enable = false;
  std::vector<std::string> replicas;  // the replicas allowed to acknowledge
};
// A node that should replicate from the primary and does not: a needs_rejoin node (an old
// primary), or a replica following another source or none. The executor checks that the node
// has nothing the primary lacks before pointing it at the primary.
struct Rejoin {
  std::string node;
  std::string primary;
  bool old_primary = false;  // in needs_rejoin
};
// Planned: fence the primary, wait until the candidate has everything, publish, promote it,
// make the old primary its replica. On a failure before publishing, the old primary is
// made writable again.
struct Switchover {
  std::string old_primary;
  std::string candidate;
  std::vector<std::string> repoint;  // other replicas
};
using Action = std::variant<Promote, MakeWritable, Fence, SetSync, Rejoin, Switchover>;
[[nodiscard]] std::string describe(const Action& a);

struct Plan {
  std::optional<TopologyRecord> publish;  // compare-and-set before the actions
  std::vector<Action> actions;
};

// What the other monitors of the cluster say, for a round (none with a single monitor).
struct Coordination {
  // This monitor may act: it alone plans actions. Otherwise it only detects, and its state
  // is "standby" with `why_not` as the reason.
  bool acting = true;
  std::string why_not;
  // The other monitors' views of the primary. A failover also needs a majority of the
  // monitors that share a view of the current record (this one included) to see the
  // primary failing: a monitor cut off from the primary alone causes none.
  std::vector<PeerView> peers;
};

struct ActionResult {
  bool ok = false;
  std::string error;  // why not
};

class MonitorCore {
 public:
  // `record` is the stored record (epoch 0 when none). `events` receives every event.
  MonitorCore(std::vector<NodeSpec> nodes, CoreOptions options, TopologyRecord record,
              EventSink& events);

  // One round: an observation per node (a node missing from the map counts as failed).
  [[nodiscard]] Plan observe(const std::map<std::string, NodeObservation>& round, TimePoint now,
                             int64_t wall_ms, const Coordination& coordination = {});
  // The result of an action of the last plan; may return a record to publish.
  [[nodiscard]] std::optional<TopologyRecord> on_result(const Action& action,
                                                        const ActionResult& result, TimePoint now,
                                                        int64_t wall_ms);
  // The plan's record was published: it is the record from now on.
  void committed(const TopologyRecord& record) { record_ = record; }
  // The plan's record could not be published (another writer): adopt theirs, drop the plan.
  void adopt(const TopologyRecord& stored);
  // The record another monitor published (this one does not act, or has just begun to).
  void follow(const TopologyRecord& stored);

  // ---- operator commands (each returns the plan, or an error saying why not) ----
  struct Command {
    std::optional<Plan> plan;
    std::string error;
  };
  // Clears a block (a failed failover, the flap guard) and the flap guard's count.
  [[nodiscard]] Command acknowledge(int64_t wall_ms);
  [[nodiscard]] Command set_maintenance(bool on, int64_t wall_ms);
  // Planned switchover to `candidate` (empty: the best replica). The executor fences the
  // primary, waits until the candidate has everything, then calls switchover_record().
  [[nodiscard]] Command switchover(const std::string& candidate);
  // Promotes `candidate` while the primary is down, overriding the lag and asynchronous-mode
  // refusals (never the errant-transaction one, nor a primary still alive).
  [[nodiscard]] Command force_failover(const std::string& candidate, TimePoint now,
                                       int64_t wall_ms);
  // The record for a switchover whose fence and catch-up succeeded.
  [[nodiscard]] TopologyRecord switchover_record(const std::string& old_primary,
                                                 const std::string& candidate, TimePoint now,
                                                 int64_t wall_ms);

  [[nodiscard]] const TopologyRecord& record() const { return record_; }
  [[nodiscard]] const std::vector<NodeSpec>& nodes() const { return nodes_; }
  [[nodiscard]] const NodeSpec* spec(const std::string& name) const;
  // Cluster state for /status: healthy, suspect, unreachable, down, failing_over, read_only
  // (the elected primary does not take writes), maintenance, bootstrapping.
  [[nodiscard]] const std::string& state() const { return state_; }
  [[nodiscard]] const std::string& state_reason() const { return state_reason_; }
  // How long until the next round: shorter while a node is suspect.
  [[nodiscard]] bool any_suspect() const;

  struct NodeView {
    Health health = Health::healthy;
    uint32_t consecutive_failures = 0;
    bool checked = false;
    NodeObservation last;  // last observation (reach failed: the rest is from before)
    NodeObservation last_ok;
    TimePoint progress_since{};    // when receiver_progress last changed
    TimePoint next_repair{};       // no repair attempt on this node before this
    uint32_t repair_failures = 0;  // in a row: the back-off doubles with each, up to 5 min
  };
  [[nodiscard]] const NodeView& view(const std::string& name) const { return views_.at(name); }
  // What a replica lacks of the primary's last seen position (see max_lag_on_failover).
  [[nodiscard]] std::optional<uint64_t> lag(const std::string& name) const;

 private:
  void detect(const std::string& name, const NodeObservation& obs, TimePoint now);
  void emit(std::string type, const std::string& node, boost::json::object fields = {});
  void set_state(std::string state, std::string reason);
  [[nodiscard]] TopologyRecord next_record(int64_t wall_ms) const;
  // The record's failovers within the flap window ending at `wall_ms`.
  [[nodiscard]] std::vector<int64_t> failovers_in_window(int64_t wall_ms) const;
  [[nodiscard]] bool replica_confirms(const std::string& name, TimePoint now) const;
  [[nodiscard]] bool replica_gone(const std::string& name, TimePoint now) const;
  [[nodiscard]] bool streams_from_primary(const std::string& name) const;

  struct Choice {
    std::string node;
    std::string refusal;  // non-empty: no candidate, and why
  };
  [[nodiscard]] Choice choose_candidate(bool override_refusals) const;
  [[nodiscard]] Plan failover_plan(const std::string& candidate, TimePoint now, int64_t wall_ms,
                                   const std::string& why);

  Plan bootstrap(int64_t wall_ms);
  void primary_healthy(Plan& plan, TimePoint now, int64_t wall_ms);
  void primary_down(Plan& plan, TimePoint now, int64_t wall_ms);
  void manage_sync(Plan& plan, TimePoint now, int64_t wall_ms);
  void repair_others(Plan& plan, TimePoint now, int64_t wall_ms);
  void refuse(const std::string& reason);
  // Whether a majority of the monitors with a view of this record see the primary failing.
  [[nodiscard]] bool monitors_agree_primary_failing();

  std::vector<NodeSpec> nodes_;
  CoreOptions options_;
  TopologyRecord record_;
  EventSink& events_;
  std::map<std::string, NodeView> views_;
  std::string state_ = "bootstrapping";
  std::string state_reason_;
  // One event per episode, not one per round.
  bool confirmed_announced_ = false;
  std::string last_refusal_;
  bool unreachable_announced_ = false;
  bool peers_disagree_announced_ = false;
  Coordination coordination_;  // this round's
  bool failing_over_ = false;
  bool sync_restore_pending_ = false;
  Position sync_baseline_;  // primary's position when it was first seen synchronous again
  Position last_primary_position_;
};

}  // namespace medgate::dbmon
