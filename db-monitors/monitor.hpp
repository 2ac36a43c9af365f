// The monitor daemon's loop: checks every node each round (in parallel, one worker per
// node, with the monitor's own deadline), hands the round to MonitorCore, publishes the
// record it asks for (compare-and-set), carries out its actions, and keeps a snapshot for
// the HTTP API. Operator commands queue here and run between rounds, on the loop's thread:
// the core is only ever touched by that one thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <boost/json/object.hpp>

#include "db-monitors/engine.hpp"
#include "db-monitors/event_log.hpp"
#include "db-monitors/fence.hpp"
#include "db-monitors/monitor_core.hpp"
#include "db-monitors/node_worker.hpp"
#include "db-monitors/topology.hpp"

namespace medgate::dbmon {

struct MonitorNode {
  NodeSpec spec;
  // Run when a node must rejoin but the engine cannot do it in place (a PostgreSQL primary
  // becomes a standby only by a restart through its start wrapper). Empty: none.
  std::string rejoin_command;
  // Run instead of the SQL fence when the node comes back from a hang after a failover
  // (db-monitors/fence.hpp): locally, a kill that supervisord follows with a restart as a
  // replica. Empty: the SQL fence.
  std::string fence_command;
};

struct MonitorOptions {
  std::string cluster;
  std::vector<MonitorNode> nodes;
  db::DbNode login;  // user, password, database for every node (host/port from the node)
  CoreOptions core;
  Duration interval = std::chrono::milliseconds(500);
  Duration suspect_interval = std::chrono::milliseconds(250);  // while a node is suspect
  Duration check_timeout = std::chrono::milliseconds(400);     // a check later than this failed
  Duration connect_timeout = std::chrono::milliseconds(800);
  Duration fence_timeout = std::chrono::seconds(2);  // best effort on a failed primary
  Duration action_timeout = std::chrono::seconds(10);
  Duration apply_timeout = std::chrono::seconds(10);  // a candidate applying what it received
};

// What the HTTP API shows; rebuilt after every round and command.
struct MonitorSnapshot {
  boost::json::object status;  // GET /status
  TopologyRecord record;
  std::string state;
  // The elected primary when it takes writes (GET /primary); empty otherwise.
  std::string serving_primary;
  std::vector<std::string> streaming_replicas;  // healthy and streaming from the primary
  // Where a client may read besides the serving primary: healthy replicas (streaming or not:
  // during a failover none streams) and the elected node while it is being promoted; never
  // a node awaiting its rejoin (it may hold writes nobody acknowledged) nor one that fails.
  std::vector<std::string> readable_replicas;
  std::map<std::string, bool> up;  // node -> last check succeeded
  std::map<std::string, bool> writable;
  std::map<std::string, int64_t> lag;  // node -> what it lacks of the primary's position
  uint64_t failovers = 0;
  uint64_t rounds = 0;
};

class Monitor {
 public:
  Monitor(MonitorOptions options, std::shared_ptr<Engine> engine,
          std::shared_ptr<db::DbDriver> driver, std::unique_ptr<TopologyStore> store,
          EventLog& events, const resilience::Clock& clock);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Runs rounds on a background thread until stop().
  void start();
  void stop();
  // One round on the caller's thread, then any queued commands (tests drive the loop with
  // this instead of start()).
  void step();
  // How long loop() waits after the last step: nothing when that step changed the topology
  // record (a promotion: the next round looks at the new primary at once, so GET /primary
  // names it as soon as a check sees it take writes, not an interval later) unless it was
  // itself such an immediate round, suspect_interval while a node is suspect, interval
  // otherwise.
  [[nodiscard]] Duration pause_before_next_round() const;

  enum class CommandKind { ack, maintenance_on, maintenance_off, switchover, failover };
  struct CommandResult {
    bool ok = false;
    std::string message;
  };
  // Queues an operator command for the loop; the future completes when it has run.
  [[nodiscard]] std::future<CommandResult> command(CommandKind kind, std::string candidate = {});

  [[nodiscard]] std::shared_ptr<const MonitorSnapshot> snapshot() const;
  [[nodiscard]] const MonitorOptions& options() const { return options_; }

 private:
  struct Pending {
    CommandKind kind;
    std::string candidate;
    std::promise<CommandResult> done;
  };

  void loop();
  std::map<std::string, NodeObservation> check_all();
  void execute(Plan plan);
  // Whether this monitor may still act, asked right before `before`; says so when not.
  bool still_acting(const std::string& before);
  bool publish(const TopologyRecord& next);
  ActionResult run(const Action& action);
  ActionResult promote(const Promote& p);
  ActionResult switchover(const Switchover& s);
  ActionResult rejoin(const std::string& node, const std::string& primary, bool old_primary);
  // `restart`: a node that comes back (or was cut off) after a failover may be fenced by its
  // fence_command (db-monitors/fence.hpp); a switchover's healthy primary never is.
  enum class FenceBy { sql, restart_if_set };
  ActionResult fence(const std::string& node, Duration timeout, FenceBy by);
  // What a fence runs on the node's worker (db-monitors/fence.hpp).
  [[nodiscard]] std::function<FenceWay(db::DbConnection&)> fence_job(const std::string& node,
                                                                     FenceBy by) const;
  void repoint(const std::string& primary, const std::vector<std::string>& replicas);
  void write_probe(const std::string& primary, TimePoint since);
  void run_command(Pending& p);
  void refresh_snapshot();
  [[nodiscard]] int64_t wall_ms() const;
  [[nodiscard]] NodeWorker& worker(const std::string& node) { return *workers_.at(node); }
  [[nodiscard]] const MonitorNode& node(const std::string& name) const;

  // Waits for `f` until `timeout`; returns its value, or throws (on this thread) what the job
  // failed with, or db::DbError on timeout.
  template <typename T>
  typename JobResult<T>::Value await(std::future<JobResult<T>>& f, Duration timeout,
                                     const std::string& what);

  MonitorOptions options_;
  std::shared_ptr<Engine> engine_;
  std::unique_ptr<TopologyStore> store_;
  EventLog& events_;
  const resilience::Clock& clock_;
  std::unique_ptr<MonitorCore> core_;
  std::map<std::string, std::unique_ptr<NodeWorker>> workers_;
  // A check still outstanding from an earlier round, per node.
  std::map<std::string, std::future<JobResult<NodeObservation>>> inflight_;
  uint64_t failovers_ = 0;
  uint64_t rounds_ = 0;
  bool topology_changed_ = false;  // by the last step (loop thread only)
  bool was_acting_ = false;        // in the last step (loop thread only)

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Pending>> commands_;
  bool stopping_ = false;
  std::shared_ptr<const MonitorSnapshot> snapshot_;
  std::thread thread_;
};

}  // namespace medgate::dbmon
